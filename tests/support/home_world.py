"""A world for the resident's home screen (`GET /me/home`, issue 12): one resident, `me`, with
something of every kind on the screen, and beside each thing one that must not show.

County 甲县:
- 甲社区 holds 甲小区 (A), 乙小区 (B) and 丁小区 (D); 丙社区 holds 丙小区 (C).
- `me`: verified owner of A 1栋1单元101, verified tenant of B 2栋1单元201, a pending claim on
  D 3栋1单元301. `late` became a verified member (family) of A-101 after `vote` opened.
  `neighbour`: verified owner of A-102. `landlord`: verified owner of B-201. `outsider`:
  verified in C-101. `stranger`: signed in, no claim.
- Projects: `renovation` on A (consulting; milestones: preparation met, approval_and_start
  overdue, two to come), `pipes` on A and B (construction, no milestones), `lift` on B
  (consulting), `elsewhere` on D (the pending claim's estate), `faraway` on C.
- Consultations: `vote` (renovation's plan satisfaction, open, closes in 20 days; `me` voted),
  `survey` (renovation's needs survey, open, closes in 30 days), `decision` (lift's owners'
  decision, open, closes in 25 days: `me` is a tenant there); and none of these shows: a draft
  and a closed one on pipes, an open one past its close on lift, open ones on elsewhere and
  faraway.
- Notices: to 甲社区 (`me` read it), to A (unread; `neighbour` read it), to A then withdrawn,
  to D (the pending estate), to C.
- Sign-ups of `me`: accepted on renovation, declined on lift (with a reason), withdrawn on
  pipes; `neighbour`'s pending one on renovation.
- Tickets of `me`: open on renovation, answered on pipes, resolved on renovation;
  `neighbour`'s open one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from api.core import db, local_today, utcnow
from devtools import factory
from feedback.models import SupervisorSignup, Ticket
from feedback.models.tickets import add_working_days
from participation.models import Milestone
from voting.models import Consultation
from voting.service import consultations as consultation_service


@dataclass
class HomeWorld:
    communities: dict = field(default_factory=dict)  # 甲, 丙 -> id
    estates: dict = field(default_factory=dict)  # key -> id
    households: dict = field(default_factory=dict)  # key -> id
    projects: dict = field(default_factory=dict)  # key -> id
    consultations: dict = field(default_factory=dict)  # key -> id
    notices: dict = field(default_factory=dict)  # key -> id
    signups: dict = field(default_factory=dict)  # key -> id
    tickets: dict = field(default_factory=dict)  # key -> id
    claims: dict = field(default_factory=dict)  # key -> id
    residents: dict = field(default_factory=dict)  # key -> id
    headers: dict = field(default_factory=dict)  # caller -> request headers


RESIDENTS = ("me", "late", "neighbour", "landlord", "outsider", "stranger")
STAFF = ("clerk", "clerk_c", "owner", "county", "prefecture")


def _consultation(project, clerk, kind: str, days: int, **args) -> Consultation:
    """Created and opened through the voting service, closing in `days` days."""
    body = {"kind": kind, "closes_at": utcnow() + timedelta(days=days), **args}
    consultation = consultation_service.create_consultation(project, clerk, body)
    return consultation_service.open_consultation(consultation)


def _ticket(project_id: int, reporter_id: int, status: str, description: str) -> Ticket:
    now = utcnow()
    ticket = Ticket(
        project_id=project_id,
        source="resident",
        reporter_id=reporter_id,
        aspects=["noise_dust"],
        description=description,
        severity="minor",
        status=status,
        due_at=add_working_days(now),
        opened_at=now,
        answered_at=now if status in ("answered", "resolved") else None,
        resolved_at=now if status == "resolved" else None,
    )
    db.session.add(ticket)
    db.session.flush()
    return ticket


def _signup(project_id: int, resident_id: int, household_id: int, status: str, **extra):
    signup = SupervisorSignup(
        project_id=project_id,
        resident_id=resident_id,
        household_id=household_id,
        status=status,
        **extra,
    )
    db.session.add(signup)
    db.session.flush()
    return signup


def build_home_world(app, client) -> HomeWorld:
    w = HomeWorld()
    now = utcnow()
    today = local_today()
    with app.app_context():
        county = factory.county("甲县")
        community = factory.community(county, "甲社区")
        community_c = factory.community(county, "丙社区")
        estates = {
            "A": factory.estate(community, "甲小区"),
            "B": factory.estate(community, "乙小区"),
            "D": factory.estate(community, "丁小区"),
            "C": factory.estate(community_c, "丙小区"),
        }
        h = {
            "A101": factory.household(estates["A"], "101", owner_name="张伟"),
            "A102": factory.household(estates["A"], "102", owner_name="王芳"),
            "B201": factory.household(estates["B"], "201", building_name="2栋", owner_name="李娜"),
            "D301": factory.household(estates["D"], "301", building_name="3栋", owner_name="赵敏"),
            "C101": factory.household(estates["C"], "101", owner_name="刘强"),
        }
        me = factory.resident("openid-me", "张伟")
        ownership = factory.claim(me, h["A101"])
        tenancy = factory.claim(me, h["B201"], relation="tenant", claimed_name="张伟")
        pending = factory.claim(me, h["D301"], status="pending", claimed_name="张伟")
        residents = {
            "me": me,
            "neighbour": factory.member("openid-neighbour", "王芳", h["A102"]),
            "landlord": factory.member("openid-landlord", "李娜", h["B201"]),
            "outsider": factory.member("openid-outsider", "刘强", h["C101"]),
            "stranger": factory.resident("openid-stranger", "陈静"),
        }
        staff = {
            "clerk": factory.staff("home-clerk", ("committee", community.id)),
            "clerk_c": factory.staff("home-clerk-c", ("committee", community_c.id)),
            "county": factory.staff("home-county", ("county", county.id)),
            "prefecture": factory.staff("home-prefecture", ("prefecture", None)),
        }

        projects = {
            "renovation": factory.project(county, [estates["A"]], "甲小区综合整治"),
            "pipes": factory.project(
                county,
                [estates["A"], estates["B"]],
                "甲乙小区管网改造",
                status="construction",
                category="improvement",
                plan_year=2026,
            ),
            "lift": factory.project(
                county, [estates["B"]], "乙小区加装电梯", category="enhancement"
            ),
            "elsewhere": factory.project(county, [estates["D"]], "丁小区改造"),
            "faraway": factory.project(county, [estates["C"]], "丙小区改造"),
        }
        staff["owner"] = factory.staff("home-owner", ("owner", projects["renovation"].id))
        renovation = projects["renovation"]
        db.session.add_all(
            [
                Milestone(
                    project_id=renovation.id,
                    kind="preparation",
                    due_on=today - timedelta(days=40),
                    done_on=today - timedelta(days=45),
                ),
                Milestone(
                    project_id=renovation.id,
                    kind="approval_and_start",
                    due_on=today - timedelta(days=10),
                ),
                Milestone(
                    project_id=renovation.id, kind="works_finished", due_on=today + timedelta(90)
                ),
                Milestone(
                    project_id=renovation.id,
                    kind="completion_acceptance",
                    due_on=today + timedelta(days=150),
                ),
            ]
        )
        for key in ("renovation", "lift", "elsewhere", "faraway", "pipes"):
            factory.plan(projects[key], staff["owner"])
        clerk = staff["clerk"]
        consultations = {
            "vote": _consultation(renovation, clerk, "plan_satisfaction", 20),
            "survey": _consultation(renovation, clerk, "needs_survey", 30),
            "decision": _consultation(
                projects["lift"], clerk, "owners_decision", 25, matter="rebuild"
            ),
            "elsewhere": _consultation(projects["elsewhere"], clerk, "needs_survey", 20),
            "faraway": _consultation(projects["faraway"], staff["clerk_c"], "needs_survey", 20),
            "past_close": _consultation(projects["lift"], clerk, "needs_survey", 10),
            "closed": _consultation(projects["pipes"], clerk, "needs_survey", 10),
        }
        consultations["draft"] = consultation_service.create_consultation(
            projects["pipes"], clerk, {"kind": "needs_survey"}
        )
        # Past its close time but not yet closed by the sweep; and one closed.
        consultations["past_close"].closes_at = now - timedelta(minutes=1)
        consultations["closed"].status, consultations["closed"].closed_at = "closed", now
        # Verified in A-101 after `vote` opened: outside its frozen electorate.
        late = factory.member("openid-late", "张小伟", h["A101"], relation="family")
        residents["late"] = late

        signups = {
            "accepted": _signup(
                renovation.id,
                me.id,
                h["A101"].id,
                "accepted",
                created_at=now - timedelta(days=3),
                reviewed_at=now,
            ),
            "declined": _signup(
                projects["lift"].id,
                me.id,
                h["B201"].id,
                "declined",
                reason="本期名额已满",
                created_at=now - timedelta(days=1),
                reviewed_at=now,
            ),
            "withdrawn": _signup(
                projects["pipes"].id, me.id, h["A101"].id, "withdrawn", withdrawn_at=now
            ),
            "neighbour": _signup(renovation.id, residents["neighbour"].id, h["A102"].id, "pending"),
        }
        tickets = {
            "open": _ticket(renovation.id, me.id, "open", "夜间施工噪音大"),
            "answered": _ticket(projects["pipes"].id, me.id, "answered", "管道漏水"),
            "resolved": _ticket(renovation.id, me.id, "resolved", "垃圾未清运"),
            "neighbour": _ticket(renovation.id, residents["neighbour"].id, "open", "扬尘"),
        }
        db.session.commit()

        w.estates = {key: e.id for key, e in estates.items()}
        w.households = {key: hh.id for key, hh in h.items()}
        w.projects = {key: p.id for key, p in projects.items()}
        w.consultations = {key: c.id for key, c in consultations.items()}
        w.signups = {key: s.id for key, s in signups.items()}
        w.tickets = {key: t.id for key, t in tickets.items()}
        w.claims = {"A101": ownership.id, "B201": tenancy.id, "D301": pending.id}
        w.communities = {"甲": community.id, "丙": community_c.id}
        w.residents = {key: r.id for key, r in residents.items()}
        with app.test_request_context():
            callers = {**residents, **staff}
            w.headers = {key: factory.headers(who) for key, who in callers.items()}
        w.headers["anonymous"] = {}

    _notices(client, w)
    voted = client.put(
        f"/api/v1/consultations/{w.consultations['vote']}/ballot",
        json={"choice": "satisfied"},
        headers=w.headers["me"],
    )
    assert voted.status_code == 200, voted.json
    return w


def _notices(client, w: HomeWorld) -> None:
    def post(who, **body):
        payload = {"category": "general", "title": "通知", "body": "内容", **body}
        reply = client.post("/api/v1/notices", json=payload, headers=w.headers[who])
        assert reply.status_code == 201, reply.json
        return reply.json["id"]

    w.notices = {
        "read": post("clerk", community_id=w.communities["甲"], title="已读的通知"),
        "unread": post("clerk", estate_id=w.estates["A"], title="未读的通知"),
        "withdrawn": post("clerk", estate_id=w.estates["A"], title="撤回的通知"),
        "pending_estate": post("clerk", estate_id=w.estates["D"], title="丁小区通知"),
        "other_community": post("clerk_c", estate_id=w.estates["C"], title="丙小区通知"),
    }
    withdrawn = client.post(
        f"/api/v1/notices/{w.notices['withdrawn']}/withdraw",
        json={"reason": "发错了"},
        headers=w.headers["clerk"],
    )
    assert withdrawn.status_code == 200, withdrawn.json
    read = client.post(f"/api/v1/notices/{w.notices['read']}/read", headers=w.headers["me"])
    assert read.status_code == 200, read.json
    # The neighbour read the unread one: a receipt of someone else's does not count for `me`.
    theirs = client.post(
        f"/api/v1/notices/{w.notices['unread']}/read", headers=w.headers["neighbour"]
    )
    assert theirs.status_code == 200, theirs.json
