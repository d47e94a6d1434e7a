"""A world for the tests of issue 4 (supervision, tickets, ratings, acceptance, comments): an
estate with projects in every state those need, a caller of every kind, and the shared checks
(the error shape, nothing written to the database or to the upload folder).

County 甲 holds community 甲 with estate 甲 and four projects on it:
- `construction`: under construction, with a plan; `supervisor` is an accepted supervisor and
  has filed an inspection (with a photo) whose ticket the owner has answered; `supervisor_pending`
  has signed up and waits; `resident_member` has opened a problem ticket nobody answered yet;
  a neighbour's comment is visible and another one is hidden by the clerk.
- `completed`: completed with the rating window open; `supervisor`'s household has rated it.
- `accepted`: accepted, with its joint acceptance record.
- `other`: in the reserve list, owned by `owner_other_project`.
County 乙 holds community 乙 with estate 乙 and one verified resident, `resident_other_estate`.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from api.core import db, utcnow
from devtools import factory
from feedback.models import (
    Acceptance,
    AcceptanceParty,
    AcceptanceRepresentative,
    Comment,
    Inspection,
    Rating,
    SupervisorSignup,
    Ticket,
    TicketEvent,
    Upload,
)
from feedback.models.tickets import add_working_days
from tests.support.database import every_row

CJK = re.compile(r"[\u4e00-\u9fff]")

ACTORS = (
    "anonymous",
    "resident_other_estate",  # verified member of a household of another county's estate
    "resident_unverified",  # holds only a pending claim on a household of the estate
    "resident_member",  # verified member of a household of the estate; no sign-up
    "supervisor_pending",  # verified, signed up to supervise, not accepted (yet)
    "supervisor",  # verified, an accepted supervisor of the construction project
    "clerk_other_community",  # committee clerk of the other community
    "owner_other_project",  # owner of another project on the same estate
    "clerk",  # committee clerk of the estate's community
    "owner",  # owner of the construction, completed and accepted projects
    "county_officer",  # officer of the estate's county
    "prefecture",
)
RESIDENTS_IN = ("resident_member", "supervisor_pending", "supervisor")
RESIDENTS_OUT = ("resident_other_estate", "resident_unverified")
RESIDENTS = RESIDENTS_OUT + RESIDENTS_IN
STAFF_IN = ("clerk", "owner", "county_officer", "prefecture")
STAFF_OUT = ("clerk_other_community", "owner_other_project")
STAFF = STAFF_OUT + STAFF_IN

# Smallest files each format's magic bytes accept.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(64)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(64)


@dataclass
class World:
    county: int = 0
    community: int = 0
    estate: int = 0
    other_estate: int = 0
    construction: int = 0  # project ids
    completed: int = 0
    accepted: int = 0
    other: int = 0
    plan: int = 0  # the construction project's plan
    households: dict = field(default_factory=dict)  # actor -> household id
    signup_pending: int = 0
    signup_accepted: int = 0
    upload: int = 0  # the supervisor's photo, attached to the inspection
    inspection: int = 0
    ticket_answered: int = 0  # the supervisor's, from the inspection
    ticket_open: int = 0  # resident_member's problem report
    comment: int = 0  # a neighbour's visible comment on the construction project
    hidden_comment: int = 0  # a neighbour's comment the clerk hid
    neighbour: int = 0  # the resident who wrote the comments
    callers: dict = field(default_factory=dict)  # actor -> id (None: anonymous)
    headers: dict = field(default_factory=dict)  # actor -> request headers


def _staff(username: str, *grants):
    return factory.staff(username, *grants, display_name="工作人员")


def _project(county, estate, name: str, status: str, **extra):
    return factory.project(county, [estate], name, status=status, supervisor_cap=10, **extra)


def write_photo(app, project_id: int, data: bytes = JPEG) -> tuple[str, int]:
    """A JPEG in the upload folder as the upload endpoint would leave it: (path, size)."""
    relative = f"{project_id}/{uuid.uuid4().hex}.jpg"
    path = Path(app.config["UPLOAD_DIR"]) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return relative, len(data)


def build_world(app) -> World:
    w = World()
    now = utcnow()
    with app.app_context():
        county, other_county = factory.county("甲县"), factory.county("乙县")
        community = factory.community(county, "甲社区")
        other_community = factory.community(other_county, "乙社区")
        estate = factory.estate(community, "甲小区")
        other_estate = factory.estate(other_community, "乙小区")

        households = {
            actor: factory.household(estate, room, owner_name=name, area="80.00")
            for actor, room, name in (
                ("resident_member", "101", "张伟"),
                ("supervisor_pending", "102", "王芳"),
                ("supervisor", "103", "李娜"),
                ("neighbour", "104", "赵敏"),
            )
        }
        other_household = factory.household(other_estate, "101", owner_name="刘强", area="80.00")
        residents = {
            actor: factory.member(f"openid-{actor}", nickname, households[actor])
            for actor, nickname in (
                ("resident_member", "张伟"),
                ("supervisor_pending", "王芳"),
                ("supervisor", "李娜娜"),
                ("neighbour", "赵敏"),
            )
        }
        residents["resident_other_estate"] = factory.member(
            "openid-outsider", "刘强", other_household
        )
        residents["resident_unverified"] = factory.member(
            "openid-unverified", "陈静", households["resident_member"], status="pending"
        )

        construction = _project(county, estate, "甲小区改造", "construction")
        completed = _project(
            county, estate, "甲小区二期", "completed", rating_closes_at=now + timedelta(days=20)
        )
        accepted = _project(
            county, estate, "甲小区一期", "accepted", rating_closes_at=now - timedelta(days=5)
        )
        other = _project(county, estate, "甲小区三期", "reserve")
        staff = {
            "clerk_other_community": _staff("clerk-b", ("committee", other_community.id)),
            "owner_other_project": _staff("owner-b", ("owner", other.id)),
            "clerk": _staff("clerk-a", ("committee", community.id)),
            "owner": _staff(
                "owner-a",
                ("owner", construction.id),
                ("owner", completed.id),
                ("owner", accepted.id),
            ),
            "county_officer": _staff("county-a", ("county", county.id)),
            "prefecture": _staff("prefecture", ("prefecture", None)),
        }
        plan = factory.plan(construction, staff["owner"], items=[("lighting", "更换路灯", "1000")])

        pending = SupervisorSignup(
            project_id=construction.id,
            resident_id=residents["supervisor_pending"].id,
            household_id=households["supervisor_pending"].id,
            trade="水暖",
            days_available=["sat"],
            status="pending",
        )
        accepted_signup = SupervisorSignup(
            project_id=construction.id,
            resident_id=residents["supervisor"].id,
            household_id=households["supervisor"].id,
            trade="电工",
            days_available=["mon", "wed"],
            note="退休电工",
            status="accepted",
            reviewed_by_id=staff["clerk"].id,
            reviewed_at=now,
        )
        db.session.add_all([pending, accepted_signup])
        db.session.flush()

        path, size = write_photo(app, construction.id)
        photo = Upload(
            project_id=construction.id,
            uploader_id=residents["supervisor"].id,
            path=path,
            content_type="image/jpeg",
            size=size,
            sha256="0" * 64,
        )
        db.session.add(photo)
        db.session.flush()
        inspection = Inspection(
            project_id=construction.id,
            signup_id=accepted_signup.id,
            resident_id=residents["supervisor"].id,
            aspects=["safety"],
            findings="脚手架缺少防护网",
            severity="major",
            photos=[photo],
        )
        db.session.add(inspection)
        db.session.flush()
        answered = Ticket(
            project_id=construction.id,
            source="inspection",
            inspection_id=inspection.id,
            reporter_id=residents["supervisor"].id,
            aspects=["safety"],
            description="脚手架缺少防护网",
            severity="major",
            status="answered",
            due_at=add_working_days(now),
            opened_at=now,
            answered_at=now,
            photos=[photo],
        )
        open_ticket = Ticket(
            project_id=construction.id,
            source="resident",
            reporter_id=residents["resident_member"].id,
            aspects=["noise_dust"],
            description="夜间施工噪音大",
            severity="minor",
            status="open",
            due_at=add_working_days(now),
            opened_at=now,
        )
        db.session.add_all([answered, open_ticket])
        db.session.flush()
        db.session.add_all(
            [
                TicketEvent(
                    ticket_id=answered.id, kind="opened", resident_id=residents["supervisor"].id
                ),
                TicketEvent(
                    ticket_id=answered.id,
                    kind="answered",
                    staff_id=staff["owner"].id,
                    body="已整改",
                ),
                TicketEvent(
                    ticket_id=open_ticket.id,
                    kind="opened",
                    resident_id=residents["resident_member"].id,
                ),
            ]
        )

        comment = Comment(
            project_id=construction.id,
            author_id=residents["neighbour"].id,
            body="希望周末不要施工",
            status="visible",
        )
        hidden = Comment(
            project_id=construction.id,
            author_id=residents["neighbour"].id,
            body="广告内容",
            status="hidden",
            status_reason="广告",
            reviewed_by_id=staff["clerk"].id,
            reviewed_at=now,
        )
        db.session.add_all([comment, hidden])

        db.session.add(
            Rating(
                project_id=completed.id,
                household_id=households["supervisor"].id,
                resident_id=residents["supervisor"].id,
                quality=4,
                environment=5,
                facilities=4,
                site_management=3,
                overall=4,
            )
        )
        db.session.add(
            Acceptance(
                project_id=accepted.id,
                held_on=date(2026, 12, 20),
                recorded_by_id=staff["owner"].id,
                completion_ratings=0,
                parties=[
                    AcceptanceParty(role=role, name=f"{role}公司", verdict="pass")
                    for role in ("design", "construction", "supervision")
                ],
                representatives=[
                    AcceptanceRepresentative(
                        resident_id=residents["resident_member"].id,
                        household_id=households["resident_member"].id,
                        verdict="pass",
                    )
                ],
            )
        )
        db.session.commit()

        w.county, w.community, w.estate = county.id, community.id, estate.id
        w.other_estate = other_estate.id
        w.construction, w.completed = construction.id, completed.id
        w.accepted, w.other = accepted.id, other.id
        w.plan = plan.id
        w.households = {actor: h.id for actor, h in households.items()}
        w.signup_pending, w.signup_accepted = pending.id, accepted_signup.id
        w.upload, w.inspection = photo.id, inspection.id
        w.ticket_answered, w.ticket_open = answered.id, open_ticket.id
        w.comment, w.hidden_comment = comment.id, hidden.id
        w.neighbour = residents["neighbour"].id
        callers = {"anonymous": None, **residents, **staff}
        with app.test_request_context():
            w.headers = {actor: factory.headers(who) for actor, who in callers.items()}
        w.callers = {actor: (who.id if who else None) for actor, who in callers.items()}
        db.session.remove()
    return w


# --- shared checks ----------------------------------------------------------------------------


def assert_error_shape(reply, status: int | None = None, code: str | None = None) -> dict:
    """The one JSON error shape: a stable English code, a Chinese message, details."""
    if status is not None:
        assert reply.status_code == status, reply.get_data(as_text=True)[:500]
    assert reply.mimetype == "application/json", reply.get_data(as_text=True)[:200]
    body = reply.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert re.fullmatch(r"[a-z][a-z0-9_]*", error["code"]), error
    assert CJK.search(error["message"]), error
    assert isinstance(error["details"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error


def upload_files(app) -> list[str]:
    """Every file under the upload folder, hidden temporary ones included."""
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def snapshot(app) -> dict:
    """Every row of every table, and every file in the upload folder."""
    rows = every_row(app)
    rows["<upload files>"] = upload_files(app)
    return rows


def refused(app, before: dict, reply, status: int, code: str | None = None) -> dict:
    """A refusal in the error shape that left the database and the upload folder as they were."""
    error = assert_error_shape(reply, status, code)
    after = snapshot(app)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert not changed, f"a refused request changed {sorted(changed)}"
    return error


def set_columns(app, model, object_id, **values) -> None:
    """Change a row directly (to move a clock or a state the API would take days to reach)."""
    with app.app_context():
        obj = db.session.get(model, object_id)
        for name, value in values.items():
            setattr(obj, name, value)
        db.session.commit()


def multipart(data: bytes, filename: str = "photo.jpg", content_type="image/jpeg") -> dict:
    """A wx.uploadFile-like body (field `file`), built in memory."""
    storage = FileStorage(io.BytesIO(data), filename=filename, content_type=content_type)
    boundary, body = encode_multipart({"file": storage})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def acceptance_body(representative_ids, verdict="pass", held_on=None) -> dict:
    return {
        "held_on": (held_on or date.today() - timedelta(days=1)).isoformat(),
        "parties": [
            {"role": "design", "name": "州设计院", "verdict": "pass"},
            {"role": "construction", "name": "城建公司", "verdict": verdict, "remarks": "整改"},
            {"role": "supervision", "name": "监理公司", "verdict": "conditional"},
        ],
        "representatives": [
            {"resident_id": r, "verdict": "pass", "remarks": "满意"} for r in representative_ids
        ],
    }


RATING = {"quality": 5, "environment": 4, "facilities": 4, "site_management": 3, "overall": 5}
