"""Notices that publish by themselves: a consultation opened (both open paths), closing in
24 h, its gate result final, a milestone overdue, an inspection ticket answered. Each once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from api.core import commit, db, emit, utcnow
from feedback.models import Ticket, TicketEvent
from notices import jobs
from notices.models import Notice
from participation.models import Milestone, Plan, PlanItem, Project
from tests.support.notices_helpers import (
    build_town,
    consent,
    deliveries,
    targeted_households,
)
from tests.support.voting_helpers import build_scene, open_consultation, resident, run_jobs
from voting import jobs as voting_jobs
from voting.models import Consultation
from voting.service import reminders
from voting.service.tally import recompute


def _system_notices(app, category: str) -> list[Notice]:
    with app.app_context():
        rows = db.session.scalars(
            select(Notice).where(Notice.category == category).order_by(Notice.id)
        ).all()
        db.session.expunge_all()
        return rows


def _closing_notices() -> list[Notice]:
    """The closing reminders, as the current session sees them."""
    return list(
        db.session.scalars(
            select(Notice).where(Notice.category == "consultation_closing").order_by(Notice.id)
        )
    )


def _vote(client, make, app, resident_id, consultation_id, choice="satisfied"):
    reply = client.put(
        f"/api/v1/consultations/{consultation_id}/ballot",
        json={"choice": choice},
        headers=make.headers(resident(app, resident_id)),
    )
    assert reply.status_code == 200, reply.json


def test_opening_a_consultation_publishes_its_notice_and_messages_residents(
    app, client, make, wechat
):
    scene = build_scene(app, households=4)
    first = resident(app, scene.resident_ids[0])
    consent(app, first)

    consultation_id = open_consultation(client, make, scene)
    run_jobs(app)

    [notice] = _system_notices(app, "consultation_open")
    assert notice.event_key == f"consultation-opened:{consultation_id}"
    assert notice.status == "published" and notice.author_id is None
    assert (notice.target_kind, notice.project_id) == ("project", scene.project_id)
    assert targeted_households(app, notice.id) == set(scene.household_ids)
    assert set(deliveries(app, notice.id)) == set(scene.resident_ids)
    assert [m["touser"] for m in wechat.messages] == [first.openid]
    assert wechat.messages[0]["data"]["thing3"] == {"value": "征询开始"}
    listed = client.get("/api/v1/notices", headers=make.headers(first)).json["items"]
    assert [n["id"] for n in listed] == [notice.id]
    assert listed[0]["category_label"] == "征询开始"


def test_a_consultation_opened_at_its_time_publishes_its_notice_too(app, client, make):
    scene = build_scene(app, households=2)
    opens_at = utcnow() + timedelta(minutes=10)
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={
            "kind": "plan_satisfaction",
            "plan_id": scene.plan_id,
            "opens_at": opens_at.isoformat(),
        },
        headers=make.headers(scene.clerk),
    )
    assert created.status_code == 201, created.json
    assert _system_notices(app, "consultation_open") == []

    with app.app_context():
        opened, _ = voting_jobs.open_and_close_due(opens_at + timedelta(seconds=1))
    assert opened == [created.json["id"]]
    [notice] = _system_notices(app, "consultation_open")
    assert notice.event_key == f"consultation-opened:{created.json['id']}"


def test_the_closing_reminder_goes_once_to_the_households_that_have_not_voted(app, client, make):
    scene = build_scene(app, households=3)
    closes_at = utcnow() + timedelta(days=10)
    consultation_id = open_consultation(client, make, scene, closes_at=closes_at.isoformat())
    _vote(client, make, app, scene.resident_ids[0], consultation_id)

    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        at = reminders.reminder_at(consultation)
        assert abs((consultation.closes_at - at) - timedelta(hours=24)) < timedelta(seconds=1)
        assert reminders.remind(consultation_id, at - timedelta(hours=1)) is False  # too early
        assert _closing_notices() == []
        assert reminders.remind(consultation_id, at + timedelta(minutes=5)) is True
        [notice] = _closing_notices()
        notice_id = notice.id
        commit()
        # voting announces it again (the job retried, every reconcile run): notices acts once
        assert reminders.remind(consultation_id, at + timedelta(minutes=6)) is True
        assert voting_jobs.reconcile(at + timedelta(minutes=7))["reminded"] == [consultation_id]
        assert [n.id for n in _closing_notices()] == [notice_id]

    assert targeted_households(app, notice_id) == set(scene.household_ids[1:])
    assert set(deliveries(app, notice_id)) == set(scene.resident_ids[1:])
    voted = client.get(
        "/api/v1/notices", headers=make.headers(resident(app, scene.resident_ids[0]))
    )
    assert notice_id not in {n["id"] for n in voted.json["items"]}


def test_a_lost_reminder_is_sent_by_the_reconciler_and_short_consultations_get_none(
    app, client, make
):
    scene = build_scene(app, households=2)
    long_close = utcnow() + timedelta(days=9)
    long_one = open_consultation(client, make, scene, closes_at=long_close.isoformat())
    other = build_scene_second_project(app, scene)
    short_one = open_consultation(  # a needs survey may be short (a plan's satisfaction not)
        client,
        make,
        other,
        kind="needs_survey",
        plan_id=None,
        closes_at=(utcnow() + timedelta(hours=5)).isoformat(),
    )

    with app.app_context():
        assert reminders.remind(short_one, utcnow()) is False
        assert voting_jobs.reconcile(utcnow() + timedelta(hours=1))["reminded"] == []
        later = long_close - timedelta(hours=24) + timedelta(minutes=1)
        assert voting_jobs.reconcile(later)["reminded"] == [long_one]
    assert len(_system_notices(app, "consultation_closing")) == 1


def test_without_a_scheduler_a_due_reminder_goes_out_when_notices_are_listed(app, client, make):
    """The embedded default has no scheduler: looking at the notices does what is due, the
    closing reminder (voting's) included."""
    if app.extensions["redis"] is not None:
        pytest.skip("the embedded default only: with Redis the scheduled job sends it")
    scene = build_scene(app, households=2)
    consultation_id = open_consultation(
        client, make, scene, closes_at=(utcnow() + timedelta(days=10)).isoformat()
    )
    listed = client.get(
        "/api/v1/notices", headers=make.headers(resident(app, scene.resident_ids[1]))
    )
    assert "consultation_closing" not in {n["category"] for n in listed.json["items"]}
    with app.app_context():  # nine and a half days on: the close is 12 h away
        consultation = db.session.get(Consultation, consultation_id)
        consultation.opened_at = utcnow() - timedelta(days=9, hours=12)
        consultation.closes_at = utcnow() + timedelta(hours=12)
        commit()

    listed = client.get(
        "/api/v1/notices", headers=make.headers(resident(app, scene.resident_ids[1]))
    )
    assert listed.status_code == 200
    assert [n["category"] for n in listed.json["items"]].count("consultation_closing") == 1
    assert len(_system_notices(app, "consultation_closing")) == 1


def build_scene_second_project(app, scene):
    """A second project on the scene's estate, with its own plan, the same staff."""
    with app.app_context():
        estate_project = db.session.get(Project, scene.project_id)
        project = Project(
            county_id=scene.county_id,
            name="第二个项目",
            category="basic",
            plan_year=2027,
            status="consulting",
            estates=list(estate_project.estates),
        )
        db.session.add(project)
        db.session.flush()
        plan = Plan(
            project_id=project.id,
            version=1,
            created_by_id=scene.owner.id,
            items=[PlanItem(position=1, category="greening", description="绿化", estimated_cost=1)],
        )
        db.session.add(plan)
        db.session.commit()
        return type(scene)(
            scene.county_id,
            scene.community_id,
            scene.estate_id,
            project.id,
            plan.id,
            scene.household_ids,
            scene.resident_ids,
            scene.clerk,
            scene.owner,
        )


def test_a_final_gate_result_is_published_once(app, client, make):
    scene = build_scene(app, households=3)
    consultation_id = open_consultation(client, make, scene)
    for resident_id in scene.resident_ids:
        _vote(client, make, app, resident_id, consultation_id)
    run_jobs(app)
    assert _system_notices(app, "gate_result") == []  # provisional results publish nothing

    closed = client.post(
        f"/api/v1/consultations/{consultation_id}/close", headers=make.headers(scene.clerk)
    )
    assert closed.status_code == 200
    run_jobs(app)
    with app.app_context():  # a second count (the reconciler, a retried job) changes nothing
        recompute(consultation_id)
        commit()

    [notice] = _system_notices(app, "gate_result")
    assert notice.event_key == f"gate-final:{consultation_id}"
    assert "满意度100.0%" in notice.body and "参与率100.0%" in notice.body
    assert "达到要求" in notice.body
    assert targeted_households(app, notice.id) == set(scene.household_ids)


def test_overdue_milestones_are_announced_once_each(app, make):
    scene = build_scene(app, households=2)
    with app.app_context():
        db.session.add_all(
            [
                Milestone(project_id=scene.project_id, kind="preparation", due_on=date(2020, 1, 1)),
                Milestone(
                    project_id=scene.project_id,
                    kind="approval_and_start",
                    due_on=date(2020, 4, 30),
                    done_on=date(2020, 5, 30),  # met late: not overdue any more
                ),
                Milestone(
                    project_id=scene.project_id, kind="works_finished", due_on=date(2999, 1, 1)
                ),
            ]
        )
        db.session.commit()
        overdue_id = db.session.scalar(select(Milestone.id).where(Milestone.kind == "preparation"))

        assert jobs.milestones_overdue() == [overdue_id]
        assert jobs.milestones_overdue() == []
        assert jobs.milestones_daily() == []

    [notice] = _system_notices(app, "milestone_overdue")
    assert notice.event_key == f"milestone-overdue:{overdue_id}"
    assert "2020年01月01日" in notice.body
    assert targeted_households(app, notice.id) == set(scene.household_ids)


@pytest.fixture
def town(app, make):
    return build_town(app, make)


def _ticket(app, town, reporter, *answers) -> int:
    """A ticket on the town's project reported by `reporter`, with an event per step."""
    with app.app_context():
        now = utcnow()
        ticket = Ticket(
            project_id=town.project.id,
            source="resident",
            reporter_id=reporter.id,
            aspects=["safety"],
            description="3栋门口的沟槽夜里没有围挡，也没有警示灯，老人孩子经过很危险，请尽快处理",
            severity="major",
            status="answered" if answers else "open",
            due_at=now + timedelta(days=3),
        )
        db.session.add(ticket)
        db.session.flush()
        for kind in ("opened", *answers):
            db.session.add(TicketEvent(ticket_id=ticket.id, kind=kind, body="已处理", at=now))
        db.session.commit()
        return ticket.id


def _report_answer(ticket_id: int):
    """Emit `ticket_answered` for the ticket's latest answer, with the payload feedback gives
    it; the notice published, if any."""
    ticket = db.session.get(Ticket, ticket_id)
    answer_id = db.session.scalar(
        select(func.max(TicketEvent.id)).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "answered"
        )
    )
    before = set(db.session.scalars(select(Notice.id)))
    emit(
        "ticket_answered",
        ticket_id=ticket.id,
        answer_id=answer_id,
        project_id=ticket.project_id,
        reporter_id=ticket.reporter_id,
        description=ticket.description,
    )
    return db.session.scalar(
        select(Notice).where(Notice.category == "ticket_answered", Notice.id.not_in(before))
    )


def _answer_again(app, ticket_id) -> None:
    with app.app_context():
        for kind in ("reopened", "answered"):
            db.session.add(TicketEvent(ticket_id=ticket_id, kind=kind, body="再次处理"))
        db.session.commit()


def test_an_answered_ticket_reaches_its_reporter_alone_once_per_answer(
    app, client, make, town, wechat
):
    reporter = town.residents["a1"]
    consent(app, reporter, count=2)
    unanswered = _ticket(app, town, reporter)
    ticket_id = _ticket(app, town, reporter, "answered")
    with app.app_context():
        notice = _report_answer(ticket_id)
        notice_id, body = notice.id, notice.body
        commit()
        assert _report_answer(ticket_id) is None  # the same answer: once
    run_jobs(app)
    # feedback reports answers only: the ticket never answered has no notice
    answered = [n.event_key.split(":")[1] for n in _system_notices(app, "ticket_answered")]
    assert answered == [str(ticket_id)] and str(unanswered) not in answered

    assert "沟槽夜里没有围挡，也没有警示灯" in body and "…" in body
    assert set(deliveries(app, notice_id)) == {reporter.id}
    assert [m["touser"] for m in wechat.messages] == [reporter.openid]
    assert wechat.messages[0]["data"]["thing3"] == {"value": "问题答复"}
    mine = client.get("/api/v1/notices", headers=make.headers(reporter)).json["items"]
    assert [n["id"] for n in mine] == [notice_id]
    neighbour = client.get("/api/v1/notices", headers=make.headers(town.residents["a2"]))
    assert neighbour.json["total"] == 0
    assert (
        client.get(
            f"/api/v1/notices/{notice_id}", headers=make.headers(town.residents["a2"])
        ).status_code
        == 404
    )
    read = client.post(f"/api/v1/notices/{notice_id}/read", headers=make.headers(reporter))
    assert read.status_code == 200
    owner = client.get(
        f"/api/v1/notices/{notice_id}/receipts", headers=make.headers(town.staff["owner"])
    )
    assert owner.status_code == 200
    assert owner.json["residents_read"] == 1 and owner.json["read_share"] is None
    other = client.get(
        f"/api/v1/notices/{notice_id}/receipts", headers=make.headers(town.staff["other_clerk"])
    )
    assert other.status_code == 404

    # reopened by the reporter and answered again: a second notice
    _answer_again(app, ticket_id)
    with app.app_context():
        second = _report_answer(ticket_id)
        assert second is not None and second.id != notice_id
        commit()
    run_jobs(app)
    assert [m["touser"] for m in wechat.messages] == [reporter.openid] * 2
