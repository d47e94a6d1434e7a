"""Plan versions carry files staff uploaded (issue 12, the project detail screen): drawings as
images, the plan document as a PDF, 10 MiB each, the type read from the bytes. Only the
project's managers upload PDFs; a version's files are given when it is created and never
change after; once attached, residents of the project's estates may fetch them.

The world is tests/support/feedback_world.py: plans are written on project `other` (in the
reserve list, on estate 甲), managed by `owner_other_project`, the county and the prefecture.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.core import db
from feedback.models import PlanAttachment, Upload
from feedback.service import plan_attachments
from participation.models import Plan, Project, Staff
from tests.support.feedback_world import (
    JPEG,
    PDF,
    PNG,
    WEBP,
    World,
    assert_error_shape,
    build_world,
    multipart,
    refused,
    snapshot,
)

MiB = 1024 * 1024
ITEMS = [{"category": "lighting", "description": "更换路灯", "estimated_cost": 1000}]
MANAGERS = ("owner_other_project", "county_officer", "prefecture")


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return build_world(app)


def _upload(client, w, actor, data, *, project=None, filename="a.jpg", content_type=None):
    content_type = content_type or ("application/pdf" if data[:4] == b"%PDF" else "image/jpeg")
    return client.post(
        f"/api/v1/projects/{project or w.other}/uploads",
        headers=w.headers[actor],
        **multipart(data, filename=filename, content_type=content_type),
    )


def _uploaded(client, w, actor, data, **kwargs) -> int:
    reply = _upload(client, w, actor, data, **kwargs)
    assert reply.status_code == 201, reply.json
    return reply.json["id"]


def _plan(client, w, actor, attachments, project=None, **extra):
    return client.post(
        f"/api/v1/projects/{project or w.other}/plans",
        json={"items": ITEMS, "attachments": attachments, **extra},
        headers=w.headers[actor],
    )


def _fetch(client, w, upload_id, actor):
    reply = client.get(f"/api/v1/uploads/{upload_id}", headers=w.headers[actor])
    reply.close()
    return reply


# --- the flow -----------------------------------------------------------------------------------


def test_a_manager_attaches_a_drawing_and_the_plan_document_and_residents_fetch_them(
    app, world, client
):
    w = world
    manager = "owner_other_project"
    drawing = _upload(client, w, manager, PNG, filename="总平面图.png", content_type="image/png")
    document = _upload(client, w, manager, PDF, filename="方案.pdf")
    assert drawing.json["content_type"] == "image/png"
    assert document.json["content_type"] == "application/pdf"
    assert document.json["size"] == len(PDF)
    drawing_id, document_id = drawing.json["id"], document.json["id"]

    # Not published yet: a resident of the estate cannot fetch a staff member's file.
    assert_error_shape(_fetch(client, w, document_id, "resident_member"), 404, "upload_not_found")

    created = _plan(
        client,
        w,
        manager,
        [
            {"upload_id": document_id, "title": "改造方案说明"},
            {"upload_id": drawing_id, "title": " 总平面图 "},
        ],
        summary="路灯更换",
    )
    assert created.status_code == 201, created.json
    attachments = created.json["attachments"]
    assert [
        {k: a[k] for k in ("upload_id", "position", "title", "content_type", "size", "url")}
        for a in attachments
    ] == [
        {
            "upload_id": document_id,
            "position": 1,
            "title": "改造方案说明",
            "content_type": "application/pdf",
            "size": len(PDF),
            "url": f"/api/v1/uploads/{document_id}",
        },
        {
            "upload_id": drawing_id,
            "position": 2,
            "title": "总平面图",
            "content_type": "image/png",
            "size": len(PNG),
            "url": f"/api/v1/uploads/{drawing_id}",
        },
    ]
    assert all(isinstance(a["id"], int) for a in attachments)

    # Every reply that shows the version shows its files, to residents as to staff.
    resident = w.headers["resident_member"]
    plans = client.get(f"/api/v1/projects/{w.other}/plans", headers=resident)
    assert plans.status_code == 200 and plans.json[-1]["attachments"] == attachments
    current = client.get(f"/api/v1/projects/{w.other}/plans/current", headers=resident)
    assert current.json["attachments"] == attachments
    detail = client.get(f"/api/v1/projects/{w.other}", headers=resident)
    assert detail.json["current_plan"]["attachments"] == attachments

    # Published: the estate's verified residents and staff in sight fetch the files.
    for actor in ("resident_member", "supervisor", "clerk", "county_officer"):
        served = client.get(attachments[0]["url"], headers=w.headers[actor])
        assert served.status_code == 200, (actor, served.get_data()[:200])
        assert served.data == PDF and served.mimetype == "application/pdf"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        served.close()
    # Nobody else learns the file exists.
    for actor in ("resident_other_estate", "resident_unverified", "clerk_other_community"):
        for upload_id in (document_id, drawing_id):
            reply = _fetch(client, w, upload_id, actor)
            assert_error_shape(reply, 404, "upload_not_found")
    assert_error_shape(_fetch(client, w, document_id, "anonymous"), 401)


def test_a_version_without_attachments_lists_none(app, world, client):
    created = _plan(client, world, "county_officer", [])
    assert created.status_code == 201, created.json
    assert created.json["attachments"] == []
    # The world's plan, written before plans had files, lists none either.
    reply = client.get(
        f"/api/v1/projects/{world.construction}/plans", headers=world.headers["resident_member"]
    )
    assert reply.status_code == 200
    assert [p["attachments"] for p in reply.json] == [[]]


# --- who may upload what ------------------------------------------------------------------------


@pytest.mark.parametrize("actor", MANAGERS)
def test_the_project_s_managers_upload_pdfs(app, world, client, actor):
    reply = _upload(client, world, actor, PDF, filename="plan.pdf")
    assert reply.status_code == 201, reply.json
    assert reply.json["content_type"] == "application/pdf"
    with app.app_context():
        stored = db.session.get(Upload, reply.json["id"])
        assert stored.path.endswith(".pdf") and stored.staff_uploader_id == world.callers[actor]


@pytest.mark.parametrize(
    ("actor", "project"),
    [
        ("resident_member", "other"),  # a resident of the estate
        ("supervisor", "construction"),  # a resident, on the site's project
        ("clerk", "other"),  # staff who see the project but do not make its plans
    ],
)
def test_nobody_else_uploads_a_pdf_and_nothing_is_written(app, world, client, actor, project):
    before = snapshot(app)
    reply = _upload(client, world, actor, PDF, project=getattr(world, project), filename="a.pdf")
    error = refused(app, before, reply, 422, "file_type_unsupported")
    assert "PDF" not in error["message"]  # they are told what they may upload: images
    # The same callers still upload images.
    assert _upload(client, world, actor, JPEG, project=getattr(world, project)).status_code == 201


def test_a_manager_told_of_a_bad_file_is_told_pdfs_are_allowed(app, world, client):
    before = snapshot(app)
    reply = _upload(client, world, "owner_other_project", b"GIF89a" + bytes(64))
    assert "PDF" in refused(app, before, reply, 422, "file_type_unsupported")["message"]


BAD_FILES = {
    "text named .jpg": ("resident_member", "规划说明".encode() * 20, "a.jpg", "image/jpeg", 422),
    "text named .pdf": ("owner_other_project", b"PDF-1.4 not quite", "a.pdf", None, 422),
    "a PDF named .jpg from a resident": ("resident_member", PDF, "a.jpg", "image/jpeg", 422),
    "a PDF named .png from a clerk": ("clerk", PDF, "a.png", "image/png", 422),
    "HTML named .pdf": ("owner_other_project", b"<html>%PDF-1.4</html>", "a.pdf", None, 422),
    "a PDF of 10 MiB + 1": (
        "owner_other_project",
        PDF + bytes(10 * MiB + 1 - len(PDF)),
        "a.pdf",
        "application/pdf",
        413,
    ),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_file_is_refused_and_nothing_is_written(app, world, client, name):
    actor, data, filename, content_type, status = BAD_FILES[name]
    before = snapshot(app)
    reply = _upload(
        client,
        world,
        actor,
        data,
        filename=filename,
        content_type=content_type or "application/pdf",
    )
    error = refused(app, before, reply, status)
    if status == 413:
        assert error["code"] == "payload_too_large"
        assert error["details"] == {"limit_bytes": 10 * MiB}
    else:
        assert error["code"] == "file_type_unsupported"


def test_a_pdf_of_exactly_10_MiB_is_stored(app, world, client):
    data = PDF + bytes(10 * MiB - len(PDF))
    reply = _upload(client, world, "owner_other_project", data, filename="a.pdf")
    assert reply.status_code == 201, reply.json
    assert reply.json["size"] == 10 * MiB


# --- what may be attached -----------------------------------------------------------------------


def _bad_attachment_cases(client, w) -> dict:
    """name -> (attachments, status, code, the ids `details.attachments` names)."""
    mine = _uploaded(client, w, "county_officer", PNG, content_type="image/png")
    theirs = _uploaded(client, w, "owner_other_project", PDF, filename="a.pdf")
    elsewhere = _uploaded(client, w, "county_officer", JPEG, project=w.construction)
    residents = _uploaded(client, w, "resident_member", JPEG)
    one = {"upload_id": mine, "title": "总平面图"}
    return {
        "someone else's upload": (
            [{"upload_id": theirs, "title": "x"}],
            422,
            "upload_invalid",
            [theirs],
        ),
        "another project's upload": (
            [one, {"upload_id": elsewhere, "title": "x"}],
            422,
            "upload_invalid",
            [elsewhere],
        ),
        "a resident's upload": (
            [{"upload_id": residents, "title": "x"}],
            422,
            "upload_invalid",
            [residents],
        ),
        "an unknown id": ([{"upload_id": 987_654, "title": "x"}], 422, "upload_invalid", [987_654]),
        "the same upload twice": (
            [one, {**one, "title": "again"}],
            422,
            "upload_duplicate",
            [mine],
        ),
        "a blank title": ([{"upload_id": mine, "title": "   "}], 422, None, None),
        "no title": ([{"upload_id": mine}], 422, None, None),
        "a title of 201 characters": ([{"upload_id": mine, "title": "图" * 201}], 422, None, None),
        "an id as text": ([{"upload_id": str(mine), "title": "x"}], 422, None, None),
        "an id beyond the range": ([{"upload_id": 2**31, "title": "x"}], 422, None, None),
        "21 attachments": (
            [{"upload_id": mine, "title": str(n)} for n in range(21)],
            422,
            None,
            None,
        ),
        "not a list": ({"upload_id": mine, "title": "x"}, 422, None, None),
        "a list of ids": ([mine], 422, None, None),
    }


CASES = (
    "someone else's upload",
    "another project's upload",
    "a resident's upload",
    "an unknown id",
    "the same upload twice",
    "a blank title",
    "no title",
    "a title of 201 characters",
    "an id as text",
    "an id beyond the range",
    "21 attachments",
    "not a list",
    "a list of ids",
)


@pytest.mark.parametrize("name", CASES)
def test_a_bad_attachment_refuses_the_whole_version_and_writes_nothing(app, world, client, name):
    attachments, status, code, ids = _bad_attachment_cases(client, world)[name]
    before = snapshot(app)
    reply = _plan(client, world, "county_officer", attachments)
    error = refused(app, before, reply, status, code)
    if ids is not None:
        assert error["details"] == {"attachments": ids}
    else:
        assert "attachments" in error["details"]["fields"]


@pytest.mark.parametrize(
    ("actor", "status", "code"),
    [
        ("anonymous", 401, None),
        ("resident_member", 403, "staff_only"),
        ("resident_other_estate", 403, "staff_only"),
        ("clerk", 403, "out_of_scope"),  # sees the project, does not make its plans
        ("clerk_other_community", 404, "project_not_found"),
        ("owner", 404, "project_not_found"),  # owner of other projects only
    ],
)
def test_who_may_create_a_version_with_attachments(app, world, client, actor, status, code):
    upload_id = _uploaded(client, world, "owner_other_project", PDF, filename="a.pdf")
    before = snapshot(app)
    reply = _plan(client, world, actor, [{"upload_id": upload_id, "title": "方案"}])
    refused(app, before, reply, status, code)


# --- a version never changes --------------------------------------------------------------------


def test_a_version_s_files_never_change_and_a_new_version_has_its_own(app, world, client):
    w = world
    manager = "owner_other_project"
    drawing = _uploaded(client, w, manager, WEBP, content_type="image/webp")
    document = _uploaded(client, w, manager, PDF, filename="a.pdf")
    first = _plan(client, w, manager, [{"upload_id": drawing, "title": "总平面图"}])
    assert first.status_code == 201, first.json
    # The next version may carry the same drawing again, and more.
    second = _plan(
        client,
        w,
        manager,
        [{"upload_id": document, "title": "方案说明"}, {"upload_id": drawing, "title": "总平面图"}],
    )
    assert second.status_code == 201, second.json
    plans = client.get(f"/api/v1/projects/{w.other}/plans", headers=w.headers["clerk"]).json
    assert [[a["upload_id"] for a in p["attachments"]] for p in plans] == [
        [drawing],
        [document, drawing],
    ]

    with app.app_context():
        project = db.session.get(Project, w.other)
        plan = db.session.get(Plan, first.json["id"])
        staff = db.session.get(Staff, w.callers[manager])
        # Attaching to an existing version is refused: the service has no "add later".
        with pytest.raises(Exception) as refusal:
            plan_attachments.attach(project, plan, staff, [{"upload_id": document, "title": "x"}])
        assert getattr(refusal.value, "code", None) == "plan_published"
        db.session.rollback()
        # And a row cannot be changed or removed, whoever tries.
        row = db.session.scalar(
            select(PlanAttachment).where(PlanAttachment.plan_id == first.json["id"])
        )
        row.title = "改过的标题"
        with pytest.raises(RuntimeError, match="never change"):
            db.session.flush()
        db.session.rollback()
        row = db.session.scalar(
            select(PlanAttachment).where(PlanAttachment.plan_id == first.json["id"])
        )
        db.session.delete(row)
        with pytest.raises(RuntimeError, match="never change"):
            db.session.flush()
        db.session.rollback()
    again = client.get(f"/api/v1/projects/{w.other}/plans", headers=w.headers["clerk"]).json
    assert again == plans
    # Nor does the API offer a way to change a version's files.
    writes = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if "attachment" in rule.rule and rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
    }
    assert writes == set()
