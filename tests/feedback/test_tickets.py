"""Photos, inspections and the ticket flow: open → answered → reopened → answered → resolved,
every step kept, answers due in 3 working days and flagged when overdue."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from api.core import db
from feedback.models import Upload
from feedback.models.tickets import Ticket, TicketEvent, add_working_days
from feedback.service import tickets as ticket_service
from participation.models import Project
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
    set_columns,
    snapshot,
    upload_files,
)

MiB = 1024 * 1024
SHANGHAI = timedelta(hours=8)


def _local(*args) -> datetime:
    """A time on the prefecture's clock, as an aware UTC datetime."""
    return (datetime(*args) - SHANGHAI).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return build_world(app)


# --- the answer clock -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        ((2026, 6, 1, 10, 0), (2026, 6, 4, 10, 0)),  # Monday → Thursday, same time
        ((2026, 6, 5, 10, 0), (2026, 6, 10, 10, 0)),  # Friday → Wednesday
        ((2026, 6, 4, 23, 30), (2026, 6, 9, 23, 30)),  # Thursday night → Tuesday night
        ((2026, 6, 6, 10, 0), (2026, 6, 11, 0, 0)),  # Saturday → end of Wednesday
        ((2026, 6, 7, 23, 59), (2026, 6, 11, 0, 0)),  # Sunday → end of Wednesday
    ],
)
def test_answers_are_due_three_working_days_later_on_the_local_clock(opened, due):
    assert add_working_days(_local(*opened)) == _local(*due)


def test_the_working_day_is_the_local_one_not_utc():
    # Saturday 01:00 in Shanghai is still Friday 17:00 in UTC: the local weekend counts.
    opened = _local(2026, 6, 6, 1, 0)
    assert opened.weekday() == 4
    assert add_working_days(opened) == _local(2026, 6, 11, 0, 0)


# --- photos -----------------------------------------------------------------------------------


def _upload(client, w, data, actor="supervisor", project=None, **kwargs):
    return client.post(
        f"/api/v1/projects/{project or w.construction}/uploads",
        headers=w.headers[actor],
        **multipart(data, **kwargs),
    )


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "stored_as"),
    [
        (JPEG, "IMG_0001.JPG", "image/jpeg", "image/jpeg"),
        (PNG, "tmp_wx.png", "image/png", "image/png"),
        (WEBP, "photo", "application/octet-stream", "image/webp"),  # the bytes decide
    ],
)
def test_an_image_is_stored_by_project_and_served_to_who_may_see_it(
    app, world, client, data, filename, content_type, stored_as
):
    w = world
    reply = _upload(client, w, data, filename=filename, content_type=content_type)
    assert reply.status_code == 201, reply.json
    body = reply.json
    assert body["content_type"] == stored_as and body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    with app.app_context():
        upload = db.session.get(Upload, body["id"])
        path = Path(app.config["UPLOAD_DIR"]) / upload.path
        assert upload.path.startswith(f"{w.construction}/") and path.read_bytes() == data
        assert not path.name.startswith(".")
    assert not [f for f in upload_files(app) if "/." in f], "a temporary file was left"

    served = client.get(body["url"], headers=w.headers["owner"])
    assert served.status_code == 200 and served.data == data
    assert served.mimetype == stored_as
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    served.close()
    assert_error_shape(client.get(body["url"], headers=w.headers["resident_member"]), 404)


BAD_FILES = {
    "a PDF posing as JPEG": (PDF, "photo.jpg", "image/jpeg", 422, "file_type_unsupported"),
    "a GIF": (b"GIF89a" + bytes(64), "a.gif", "image/gif", 422, "file_type_unsupported"),
    "a text file": ("现场照片".encode() * 10, "a.jpg", "image/jpeg", 422, "file_type_unsupported"),
    "HTML posing as PNG": (b"<html><script>x</script>", "a.png", "image/png", 422, None),
    "zero bytes": (b"", "photo.jpg", "image/jpeg", 422, "file_empty"),
    "a JPEG header alone, cut short": (b"\xff\xd8", "a.jpg", "image/jpeg", 422, None),
    "20 MB": (JPEG + bytes(20 * 1000 * 1000), "big.jpg", "image/jpeg", 413, "payload_too_large"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_file_is_refused_and_nothing_is_written_or_left_on_disk(app, world, client, name):
    data, filename, content_type, status, code = BAD_FILES[name]
    w = world
    before = snapshot(app)
    reply = _upload(client, w, data, filename=filename, content_type=content_type)
    refused(app, before, reply, status, code)


def test_a_file_just_over_10_MiB_inside_a_body_the_limit_lets_through_is_413(app, world, client):
    """The body limit leaves room for the multipart envelope; the stored file itself is
    checked too."""
    w = world
    assert app.config["UPLOAD_MAX_CONTENT_LENGTH"] > 10 * MiB + 1024
    before = snapshot(app)
    data = JPEG + bytes(10 * MiB + 1 - len(JPEG))
    reply = _upload(client, w, data)
    error = refused(app, before, reply, 413, "payload_too_large")
    assert error["details"] == {"limit_bytes": 10 * MiB}


def test_a_file_of_exactly_10_MiB_is_stored(app, world, client):
    data = JPEG + bytes(10 * MiB - len(JPEG))
    reply = _upload(client, world, data)
    assert reply.status_code == 201, reply.json
    assert reply.json["size"] == 10 * MiB


def test_an_upload_without_a_file_is_422(app, world, client):
    w = world
    before = snapshot(app)
    path = f"/api/v1/projects/{w.construction}/uploads"
    for kwargs in (
        {"json": {"file": "photo.jpg"}},
        {"data": {}, "content_type": "multipart/form-data"},
    ):
        reply = client.post(path, headers=w.headers["supervisor"], **kwargs)
        assert "file" in refused(app, before, reply, 422)["details"]["fields"]


def test_the_file_is_removed_when_the_commit_fails(app, world, client, monkeypatch):
    w = world
    before = snapshot(app)

    def commit_fails():
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr("api.routes.supervision.commit", commit_fails)
    reply = _upload(client, w, JPEG)
    refused(app, before, reply, 503, "database_unavailable")


# --- inspections and tickets ------------------------------------------------------------------


def _ticket(app, ticket_id) -> Ticket:
    with app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        db.session.expunge(ticket)
        return ticket


def test_the_ticket_flow_end_to_end(app, world, client):
    w = world
    sup, owner = w.headers["supervisor"], w.headers["owner"]
    photo = _upload(client, w, JPEG).json
    inspection = client.post(
        f"/api/v1/projects/{w.construction}/inspections",
        json={
            "aspects": ["safety", "site_cleanliness"],
            "findings": "东侧围挡倒塌，建筑垃圾堆放在消防通道",
            "severity": "critical",
            "location": "3栋东侧",
            "photo_ids": [photo["id"]],
        },
        headers=sup,
    )
    assert inspection.status_code == 201, inspection.json
    ticket = inspection.json["ticket"]
    assert ticket["status"] == "open" and ticket["source"] == "inspection"
    assert ticket["severity"] == "critical" and ticket["overdue"] is False
    assert [p["id"] for p in ticket["photos"]] == [photo["id"]]
    assert inspection.json["photos"] == ticket["photos"]
    opened = datetime.fromisoformat(ticket["opened_at"])
    assert datetime.fromisoformat(ticket["due_at"]) == add_working_days(opened)
    tid = ticket["id"]

    listed = client.get(f"/api/v1/projects/{w.construction}/tickets", headers=owner).json
    assert tid in [t["id"] for t in listed["items"]]
    answered = client.post(
        f"/api/v1/tickets/{tid}/answer", json={"answer": "已重新搭设围挡"}, headers=owner
    )
    assert answered.status_code == 200 and answered.json["status"] == "answered"
    again = client.post(f"/api/v1/tickets/{tid}/answer", json={"answer": "再答"}, headers=owner)
    assert_error_shape(again, 409, "ticket_state")

    reopened = client.post(
        f"/api/v1/tickets/{tid}/reopen", json={"reason": "垃圾还没清走"}, headers=sup
    )
    assert reopened.status_code == 200, reopened.json
    assert reopened.json["status"] == "reopened" and reopened.json["reopen_count"] == 1
    reopened_at = datetime.fromisoformat(reopened.json["events"][-1]["at"])
    assert datetime.fromisoformat(reopened.json["due_at"]) == add_working_days(reopened_at)
    assert_error_shape(
        client.post(f"/api/v1/tickets/{tid}/confirm", json={}, headers=sup), 409, "ticket_state"
    )

    client.post(f"/api/v1/tickets/{tid}/answer", json={"answer": "已清运完毕"}, headers=owner)
    resolved = client.post(f"/api/v1/tickets/{tid}/confirm", json={"remarks": "好了"}, headers=sup)
    assert resolved.status_code == 200 and resolved.json["status"] == "resolved"
    assert resolved.json["resolved_at"]

    # Each answer reached the reporter as a notice of their own (notices listens to feedback).
    notices = client.get("/api/v1/notices", headers=sup).json["items"]
    assert [n["category"] for n in notices] == ["ticket_answered", "ticket_answered"]

    detail = client.get(f"/api/v1/tickets/{tid}", headers=sup).json
    assert [(e["kind"], e["by"], e["body"]) for e in detail["events"]] == [
        ("opened", "reporter", None),
        ("answered", "staff", "已重新搭设围挡"),
        ("reopened", "reporter", "垃圾还没清走"),
        ("answered", "staff", "已清运完毕"),
        ("resolved", "reporter", "好了"),
    ]
    for path, body in (
        (f"/api/v1/tickets/{tid}/reopen", {"reason": "x"}),
        (f"/api/v1/tickets/{tid}/confirm", {}),
    ):
        assert_error_shape(client.post(path, json=body, headers=sup), 409, "ticket_state")
    assert_error_shape(
        client.post(f"/api/v1/tickets/{tid}/answer", json={"answer": "x"}, headers=owner),
        409,
        "ticket_state",
    )


def test_ticket_events_cannot_be_changed(app, world):
    w = world
    with app.app_context():
        event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == w.ticket_open))
        event.body = "改写历史"
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
        db.session.rollback()


def test_an_inspection_without_a_problem_opens_no_ticket(app, world, client):
    w = world
    reply = client.post(
        f"/api/v1/projects/{w.construction}/inspections",
        json={"aspects": ["schedule"], "findings": "按计划推进", "severity": "none"},
        headers=w.headers["supervisor"],
    )
    assert reply.status_code == 201
    assert reply.json["has_problem"] is False and reply.json["ticket"] is None
    with app.app_context():
        assert db.session.query(Ticket).count() == 2  # the world's two


def test_a_resident_problem_report_follows_the_same_flow(app, world, client):
    w = world
    member = w.headers["resident_member"]
    photo = _upload(client, w, PNG, actor="resident_member").json
    reply = client.post(
        f"/api/v1/projects/{w.construction}/problems",
        json={"description": "楼道灯不亮", "photo_ids": [photo["id"]]},
        headers=member,
    )
    assert reply.status_code == 201, reply.json
    assert reply.json["source"] == "resident" and reply.json["severity"] == "minor"
    assert reply.json["aspects"] == ["other"]
    assert [e["kind"] for e in reply.json["events"]] == ["opened"]
    # Residents report problems after completion too, not before the works start.
    accepted = client.post(
        f"/api/v1/projects/{w.completed}/problems",
        json={"description": "新装路灯不亮"},
        headers=member,
    )
    assert accepted.status_code == 201
    before = snapshot(app)
    early = client.post(
        f"/api/v1/projects/{w.other}/problems", json={"description": "x"}, headers=member
    )
    refused(app, before, early, 409, "project_not_started")


def test_photos_must_be_the_reporters_own_for_this_project(app, world, client):
    w = world
    theirs = w.upload  # the supervisor's photo
    other_project = _upload(client, w, JPEG, actor="resident_member", project=w.completed).json
    before = snapshot(app)
    for photo_ids in ([theirs], [other_project["id"]], [999999]):
        reply = client.post(
            f"/api/v1/projects/{w.construction}/problems",
            json={"description": "积水", "photo_ids": photo_ids},
            headers=w.headers["resident_member"],
        )
        error = refused(app, before, reply, 422, "upload_invalid")
        assert error["details"]["photo_ids"] == photo_ids


def test_inspections_only_while_the_works_are_on(app, world, client):
    w = world
    set_columns(app, Project, w.construction, status="completed")
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/projects/{w.construction}/inspections",
        json={"aspects": ["safety"], "findings": "x", "severity": "minor"},
        headers=w.headers["supervisor"],
    )
    refused(app, before, reply, 409, "project_not_under_construction")


def test_an_unanswered_ticket_past_its_due_time_is_flagged_and_a_late_answer_marked(
    app, world, client
):
    w = world
    owner = w.headers["owner"]
    now = datetime.now(UTC)
    set_columns(app, Ticket, w.ticket_open, due_at=now - timedelta(minutes=1))

    ticket = client.get(f"/api/v1/tickets/{w.ticket_open}", headers=owner).json
    assert ticket["overdue"] is True
    path = f"/api/v1/projects/{w.construction}/tickets"
    overdue = client.get(path, query_string={"overdue": "true"}, headers=owner).json
    assert [t["id"] for t in overdue["items"]] == [w.ticket_open]
    on_time = client.get(path, query_string={"overdue": "false"}, headers=owner).json
    assert [t["id"] for t in on_time["items"]] == [w.ticket_answered]
    # The resident who reported it sees the flag too.
    mine = client.get(path, headers=w.headers["resident_member"]).json
    assert mine["items"][0]["overdue"] is True

    answered = client.post(
        f"/api/v1/tickets/{w.ticket_open}/answer", json={"answer": "已调整"}, headers=owner
    ).json
    assert answered["overdue"] is False
    assert answered["events"][-1]["late"] is True


def test_the_due_time_follows_the_working_week(app, world, client, monkeypatch):
    """A problem reported on a Friday afternoon is due on Wednesday afternoon; answered on
    Wednesday morning it is on time, on Thursday it is late."""
    w = world
    friday = _local(2026, 6, 5, 15, 0)
    monkeypatch.setattr(ticket_service, "utcnow", lambda: friday)
    reply = client.post(
        f"/api/v1/projects/{w.construction}/problems",
        json={"description": "周五下午发现漏水"},
        headers=w.headers["resident_member"],
    ).json
    assert datetime.fromisoformat(reply["due_at"]) == _local(2026, 6, 10, 15, 0)

    monkeypatch.setattr(ticket_service, "utcnow", lambda: _local(2026, 6, 10, 9, 0))
    answered = client.post(
        f"/api/v1/tickets/{reply['id']}/answer", json={"answer": "已修"}, headers=w.headers["owner"]
    ).json
    assert answered["events"][-1]["late"] is False

    monkeypatch.setattr(ticket_service, "utcnow", lambda: _local(2026, 6, 10, 16, 0))
    reopened = client.post(
        f"/api/v1/tickets/{reply['id']}/reopen",
        json={"reason": "还在漏"},
        headers=w.headers["resident_member"],
    ).json
    assert datetime.fromisoformat(reopened["due_at"]) == _local(2026, 6, 15, 16, 0)
    monkeypatch.setattr(ticket_service, "utcnow", lambda: _local(2026, 6, 16, 8, 0))
    late = client.post(
        f"/api/v1/tickets/{reply['id']}/answer",
        json={"answer": "已换管"},
        headers=w.headers["owner"],
    ).json
    assert late["events"][-1]["late"] is True


def test_a_clerk_sees_tickets_but_only_the_owner_answers(app, world, client):
    w = world
    assert (
        client.get(f"/api/v1/tickets/{w.ticket_open}", headers=w.headers["clerk"]).status_code
        == 200
    )
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/tickets/{w.ticket_open}/answer", json={"answer": "x"}, headers=w.headers["clerk"]
    )
    refused(app, before, reply, 403, "out_of_scope")
