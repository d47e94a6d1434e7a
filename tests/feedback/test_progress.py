"""Progress updates (进度公示, issue 12, the project detail screen): the project's managers
post text and up to 9 of their own photos while the works are under way (or completed and not
yet accepted); residents of its estates and staff in scope read them, paged, newest first; the
households get a notice (`progress_update`). Photos once posted are published: residents of the
estates may fetch them, never a photo that is someone's evidence.

The world is tests/support/feedback_world.py: `construction` (managed by `owner`, the county and
the prefecture), `completed`, `accepted` and `other` (in the reserve list) on estate 甲.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.core import db
from feedback.models import ProgressUpdate
from notices.models import Notice, NoticeTarget
from tests.support.feedback_world import (
    JPEG,
    PDF,
    PNG,
    RESIDENTS_IN,
    RESIDENTS_OUT,
    STAFF_IN,
    World,
    assert_error_shape,
    build_world,
    multipart,
    refused,
    snapshot,
)

BODY = "3栋外墙保温层施工完成，下周开始屋面防水。施工期间请注意绕行。"


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return build_world(app)


def _url(w, project=None) -> str:
    return f"/api/v1/projects/{project or w.construction}/progress"


def _photo(client, w, actor="owner", data=JPEG, project=None, **kwargs) -> int:
    reply = client.post(
        f"/api/v1/projects/{project or w.construction}/uploads",
        headers=w.headers[actor],
        **multipart(data, **kwargs),
    )
    assert reply.status_code == 201, reply.json
    return reply.json["id"]


def _post(client, w, body, actor="owner", project=None):
    return client.post(_url(w, project), json=body, headers=w.headers[actor])


def _notices(app, project_id) -> list[tuple[Notice, int]]:
    """The progress notices of the project, each with how many households it reached."""
    with app.app_context():
        rows = db.session.execute(
            select(Notice, func.count(NoticeTarget.household_id))
            .outerjoin(NoticeTarget, NoticeTarget.notice_id == Notice.id)
            .where(Notice.category == "progress_update", Notice.project_id == project_id)
            .group_by(Notice.id)
            .order_by(Notice.id)
        ).all()
        db.session.expunge_all()
        return [tuple(row) for row in rows]


# --- the flow -----------------------------------------------------------------------------------


def test_a_manager_posts_an_update_residents_read_it_fetch_its_photos_and_are_told(
    app, world, client
):
    w = world
    photos = [_photo(client, w), _photo(client, w, data=PNG, filename="b.png")]
    # Before it is posted, a staff member's photo is theirs and staff's only.
    assert_error_shape(
        client.get(f"/api/v1/uploads/{photos[0]}", headers=w.headers["resident_member"]), 404
    )

    posted = _post(client, w, {"body": f"  {BODY}  ", "photo_ids": photos})
    assert posted.status_code == 201, posted.json
    update = posted.json
    assert update["body"] == BODY and update["project_id"] == w.construction
    assert [p["id"] for p in update["photos"]] == photos
    assert [p["url"] for p in update["photos"]] == [f"/api/v1/uploads/{i}" for i in photos]
    assert [p["content_type"] for p in update["photos"]] == ["image/jpeg", "image/png"]
    assert update["created_at"]

    for actor in (*RESIDENTS_IN, *STAFF_IN):
        page = client.get(_url(w), headers=w.headers[actor])
        assert page.status_code == 200, (actor, page.json)
        assert page.json == {"items": [update], "page": 1, "per_page": 20, "total": 1}

    # The photos are published now: the estate's residents fetch them; nobody else learns of them.
    for actor in RESIDENTS_IN:
        served = client.get(update["photos"][1]["url"], headers=w.headers[actor])
        assert served.status_code == 200 and served.data[:8] == PNG[:8], actor
        served.close()
    for actor in (*RESIDENTS_OUT, "clerk_other_community", "owner_other_project"):
        reply = client.get(update["photos"][0]["url"], headers=w.headers[actor])
        assert_error_shape(reply, 404, "upload_not_found")

    # The households of the project's estate are told, once.
    [(notice, reached)] = _notices(app, w.construction)
    assert notice.status == "published" and notice.target_kind == "project"
    assert notice.title == "进度公示：甲小区改造"
    assert BODY in notice.body and "附照片2张" in notice.body
    assert reached == 4  # the estate's four households with members
    listed = client.get("/api/v1/notices", headers=w.headers["resident_member"]).json["items"]
    [mine] = [n for n in listed if n["id"] == notice.id]
    assert mine["category"] == "progress_update" and mine["category_label"] == "进度公示"
    # Residents of another estate are not told.
    other = client.get("/api/v1/notices", headers=w.headers["resident_other_estate"]).json
    assert notice.id not in [n["id"] for n in other["items"]]


def test_an_update_without_photos_and_a_long_text_cut_short_in_the_notice(app, world, client):
    w = world
    text = "本周完成雨污分流管道铺设。" * 100  # 1,300 characters
    posted = _post(client, w, {"body": text}, actor="county_officer")
    assert posted.status_code == 201, posted.json
    assert posted.json["photos"] == [] and posted.json["body"] == text
    [(notice, _)] = _notices(app, w.construction)
    assert "附照片" not in notice.body and text not in notice.body and "…" in notice.body


def test_updates_page_newest_first(app, world, client):
    w = world
    for n in range(3):
        assert _post(client, w, {"body": f"第{n + 1}周进度"}).status_code == 201
    headers = w.headers["resident_member"]
    first = client.get(_url(w), query_string={"per_page": 2}, headers=headers).json
    second = client.get(_url(w), query_string={"per_page": 2, "page": 2}, headers=headers).json
    assert first["total"] == second["total"] == 3
    assert [u["body"] for u in first["items"] + second["items"]] == [
        "第3周进度",
        "第2周进度",
        "第1周进度",
    ]
    assert len(_notices(app, w.construction)) == 3


@pytest.mark.parametrize(
    ("project", "actor", "status"),
    [
        ("construction", "owner", 201),
        ("completed", "owner", 201),
        ("accepted", "owner", 409),  # closed
        ("other", "owner_other_project", 409),  # in the reserve list: nothing being built
    ],
)
def test_updates_are_posted_while_there_are_works_to_report(
    app, world, client, project, actor, status
):
    before = snapshot(app)
    reply = _post(client, world, {"body": BODY}, actor=actor, project=getattr(world, project))
    if status == 201:
        assert reply.status_code == 201, reply.json
        assert len(_notices(app, getattr(world, project))) == 1
    else:
        error = refused(app, before, reply, 409, "project_not_under_way")
        assert error["details"]["allowed"] == ["construction", "completed"]


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "status", "code"),
    [
        ("anonymous", 401, None),
        ("resident_member", 403, "staff_only"),
        ("supervisor", 403, "staff_only"),
        ("resident_other_estate", 403, "staff_only"),
        ("resident_unverified", 403, "staff_only"),
        ("clerk", 403, "out_of_scope"),  # sees the project; the managers post
        ("clerk_other_community", 404, "project_not_found"),
        ("owner_other_project", 404, "project_not_found"),
        ("owner", 201, None),
        ("county_officer", 201, None),
        ("prefecture", 201, None),
    ],
)
def test_who_may_post(app, world, client, actor, status, code):
    before = snapshot(app)
    reply = _post(client, world, {"body": BODY}, actor=actor)
    if status == 201:
        assert reply.status_code == 201, reply.json
    else:
        refused(app, before, reply, status, code)


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("anonymous", 401),
        ("resident_other_estate", 404),
        ("resident_unverified", 404),
        ("clerk_other_community", 404),
        ("owner_other_project", 404),
        *[(actor, 200) for actor in (*RESIDENTS_IN, *STAFF_IN)],
    ],
)
def test_who_may_read(app, world, client, actor, status):
    assert _post(client, world, {"body": BODY}).status_code == 201
    reply = client.get(_url(world), headers=world.headers[actor])
    if status == 200:
        assert reply.status_code == 200 and reply.json["total"] == 1
    else:
        error = assert_error_shape(reply, status)
        missing = client.get(_url(world, 987_654), headers=world.headers[actor])
        # Out of sight answers exactly as a project that does not exist.
        assert (reply.status_code, reply.json) == (missing.status_code, missing.json)
        if status == 404:
            assert error["code"] == "project_not_found"


# --- bad input ----------------------------------------------------------------------------------


def _bad_bodies(client, w, app) -> dict:
    """name -> (body, status, code, the ids `details.photo_ids` names)."""
    residents = w.upload  # the supervisor's photo of the inspection
    theirs = _photo(client, w, actor="county_officer")
    elsewhere = _photo(client, w, project=w.completed)
    document = _photo(client, w, data=PDF, filename="plan.pdf", content_type="application/pdf")
    mine = [_photo(client, w) for _ in range(10)]
    return {
        "no body": ({"photo_ids": mine[:1]}, 422, None, None),
        "a blank body": ({"body": " \n\t "}, 422, None, None),
        "a body of 2,001 characters": ({"body": "进" * 2001}, 422, None, None),
        "a body that is a number": ({"body": 123}, 422, None, None),
        "a NUL in the body": ({"body": "进度\x00"}, 422, None, None),
        "ten photos": ({"body": BODY, "photo_ids": mine}, 422, None, None),
        "a photo id as text": ({"body": BODY, "photo_ids": [str(mine[0])]}, 422, None, None),
        "photo ids not a list": ({"body": BODY, "photo_ids": mine[0]}, 422, None, None),
        "a resident's photo": (
            {"body": BODY, "photo_ids": [residents]},
            422,
            "upload_invalid",
            [residents],
        ),
        "someone else's photo": (
            {"body": BODY, "photo_ids": [mine[0], theirs]},
            422,
            "upload_invalid",
            [theirs],
        ),
        "another project's photo": (
            {"body": BODY, "photo_ids": [elsewhere]},
            422,
            "upload_invalid",
            [elsewhere],
        ),
        "a PDF as a photo": (
            {"body": BODY, "photo_ids": [document]},
            422,
            "upload_invalid",
            [document],
        ),
        "an unknown photo": (
            {"body": BODY, "photo_ids": [987_654]},
            422,
            "upload_invalid",
            [987_654],
        ),
        "an unknown field": ({"body": BODY, "pinned": True}, 422, None, None),
        "a list instead of an object": ([BODY], 422, None, None),
    }


CASES = (
    "no body",
    "a blank body",
    "a body of 2,001 characters",
    "a body that is a number",
    "a NUL in the body",
    "ten photos",
    "a photo id as text",
    "photo ids not a list",
    "a resident's photo",
    "someone else's photo",
    "another project's photo",
    "a PDF as a photo",
    "an unknown photo",
    "an unknown field",
    "a list instead of an object",
)


@pytest.mark.parametrize("name", CASES)
def test_a_bad_update_is_refused_and_nothing_is_written_or_told(app, world, client, name):
    body, status, code, ids = _bad_bodies(client, world, app)[name]
    before = snapshot(app)
    reply = _post(client, world, body)
    error = refused(app, before, reply, status, code)
    if ids is not None:
        assert error["details"] == {"photo_ids": ids}


def test_malformed_json_is_400_and_writes_nothing(app, world, client):
    before = snapshot(app)
    reply = client.post(
        _url(world),
        data='{"body": "进度"',
        content_type="application/json",
        headers=world.headers["owner"],
    )
    refused(app, before, reply, 400)


@pytest.mark.parametrize("query", [{"page": 0}, {"page": "x"}, {"per_page": 101}, {"per_page": -1}])
def test_a_bad_page_is_422(app, world, client, query):
    reply = client.get(_url(world), query_string=query, headers=world.headers["resident_member"])
    assert "fields" in assert_error_shape(reply, 422)["details"]


# --- evidence is never published ----------------------------------------------------------------


def test_a_photo_that_is_a_paper_ballot_s_evidence_cannot_be_published(app, world, client):
    """The county officer records a household's paper ballot with a photo of the signed form,
    then names that photo in a progress update: refused, so that the form (which shows the
    household's choice) never reaches the residents."""
    w = world
    officer = w.headers["county_officer"]
    consultation = client.post(
        f"/api/v1/projects/{w.construction}/consultations",
        json={"kind": "plan_satisfaction", "plan_id": w.plan},
        headers=officer,
    )
    assert consultation.status_code == 201, consultation.json
    cid = consultation.json["id"]
    assert client.post(f"/api/v1/consultations/{cid}/open", headers=officer).status_code == 200
    form = _photo(client, w, actor="county_officer")
    ballot = client.post(
        f"/api/v1/consultations/{cid}/paper-ballots",
        json={
            "household_id": w.households["resident_member"],
            "choice": "satisfied",
            "evidence_upload_id": form,
        },
        headers=officer,
    )
    assert ballot.status_code == 201, ballot.json
    fresh = _photo(client, w, actor="county_officer")

    before = snapshot(app)
    reply = _post(client, w, {"body": BODY, "photo_ids": [fresh, form]}, actor="county_officer")
    error = refused(app, before, reply, 422, "upload_in_use")
    assert error["details"] == {"photo_ids": [form]}
    assert_error_shape(
        client.get(f"/api/v1/uploads/{form}", headers=w.headers["resident_member"]), 404
    )
    # The fresh photo alone is published.
    alone = _post(client, w, {"body": BODY, "photo_ids": [fresh]}, actor="county_officer")
    assert alone.status_code == 201, alone.json
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProgressUpdate)) == 1


def test_a_published_photo_cannot_become_a_paper_ballot_s_evidence(app, world, client):
    """The other way round: a photo the county officer published in a progress update is
    refused as the evidence of a paper ballot, so that no ballot's evidence is a file every
    resident of the estate may fetch (and a form is photographed for the ballot it proves)."""
    w = world
    officer = w.headers["county_officer"]
    consultation = client.post(
        f"/api/v1/projects/{w.construction}/consultations",
        json={"kind": "plan_satisfaction", "plan_id": w.plan},
        headers=officer,
    )
    assert consultation.status_code == 201, consultation.json
    cid = consultation.json["id"]
    assert client.post(f"/api/v1/consultations/{cid}/open", headers=officer).status_code == 200
    photo = _photo(client, w, actor="county_officer")
    posted = _post(client, w, {"body": BODY, "photo_ids": [photo]}, actor="county_officer")
    assert posted.status_code == 201, posted.json

    before = snapshot(app)
    reply = client.post(
        f"/api/v1/consultations/{cid}/paper-ballots",
        json={
            "household_id": w.households["resident_member"],
            "choice": "satisfied",
            "evidence_upload_id": photo,
        },
        headers=officer,
    )
    error = refused(app, before, reply, 422, "upload_published")
    assert error["details"] == {"evidence_upload_id": [photo]}
