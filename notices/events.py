"""Notices that publish by themselves when something happens.

Each is written once per event: its `event_key` is UNIQUE, so an event reported twice (a job
retried, a sweep catching up) publishes once. Each is published inside the transaction of the
work that reports it and is sent after that commits.

- a consultation opened (voting emits `consultation_opened`): to the project's households;
- 24 h before it closes (`consultation_closing`, scheduled at the opening): to the households
  of its electorate that have not voted yet;
- its gate result became final (voting emits `gate_final`): to the project's households;
- a milestone overdue (the daily job): to the project's households, once per milestone;
- an inspection ticket answered (`notify_ticket_answered(ticket_id)`, called by the route that
  records the answer): to its reporter, once per answer.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select

from api.core import LOCAL, commit, db, local_today, schedule_at, utcnow
from feedback.tickets import Ticket, TicketEvent
from notices import service
from notices.models import Notice
from participation.models import Milestone, Project
from voting.models import Ballot, Consultation, ElectorateEntry

log = logging.getLogger(__name__)

REMIND_BEFORE = timedelta(hours=24)
KIND_LABELS = {
    "plan_satisfaction": "方案满意度征询",
    "needs_survey": "改造需求调查",
    "owners_decision": "业主共同决定表决",
}
MILESTONE_LABELS = {
    "preparation": "前期准备（可研、设计、施工图）",
    "approval_and_start": "审批完成并开工",
    "works_finished": "完工",
    "completion_acceptance": "竣工验收",
}


def _local(when: datetime) -> str:
    return when.astimezone(LOCAL).strftime("%Y年%m月%d日 %H:%M")


def _percent(value) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def publish_event(
    event_key: str,
    category: str,
    title: str,
    body: str,
    project: Project,
    *,
    households=None,
    recipient_id: int | None = None,
) -> Notice | None:
    """Publish a system notice about `project` unless this event already has one or it would
    reach nobody; the notice, or None. Flushes; the caller commits."""
    if recipient_id is None:
        probe = households if households is not None else service.project_households(project.id)
        if not db.session.scalar(select(func.count()).select_from(probe.subquery())):
            log.info("event %s reaches no household: no notice", event_key)
            return None
    notice_id = service.insert_event_notice(
        {
            "event_key": event_key,
            "category": category,
            "title": title[:100],
            "body": body,
            "target_kind": "resident" if recipient_id else "project",
            "county_id": project.county_id,
            "project_id": project.id,
            "recipient_id": recipient_id,
        }
    )
    if notice_id is None:
        return None
    notice = db.session.get(Notice, notice_id)
    return service.publish(notice, households=households)


# --- consultations ----------------------------------------------------------------------------


def consultation_opened(consultation_id: int) -> Notice | None:
    """Announce an opened consultation, and schedule the reminder 24 h before its close."""
    consultation = db.session.get(Consultation, consultation_id)
    project = db.session.get(Project, consultation.project_id)
    closes = f"截止时间为{_local(consultation.closes_at)}。" if consultation.closes_at else ""
    notice = publish_event(
        f"consultation-opened:{consultation.id}",
        "consultation_open",
        f"{KIND_LABELS[consultation.kind]}开始：{consultation.title}",
        f"{project.name}的「{consultation.title}」已开始。{closes}"
        "请打开小程序参与表决：每户一票，截止前可以修改。",
        project,
    )
    at = reminder_at(consultation)
    if at is not None:
        schedule_at(
            at,
            consultation_closing,
            consultation.id,
            queue="notices",
            job_id=f"closing-reminder-{consultation.id}-{int(at.timestamp())}",
        )
    return notice


def reminder_at(consultation: Consultation) -> datetime | None:
    """24 h before the close, for consultations open longer than that (a shorter one has just
    been announced; a reminder at once would only repeat it)."""
    if consultation.closes_at is None or consultation.opened_at is None:
        return None
    at = consultation.closes_at - REMIND_BEFORE
    return at if at >= consultation.opened_at else None


def _not_voted(consultation_id: int):
    voted = exists().where(
        Ballot.consultation_id == ElectorateEntry.consultation_id,
        Ballot.household_id == ElectorateEntry.household_id,
    )
    return select(ElectorateEntry.household_id.label("id")).where(
        ElectorateEntry.consultation_id == consultation_id, ~voted
    )


def remind(consultation_id: int, now: datetime | None = None) -> Notice | None:
    """The reminder, if the consultation is still open and closes within 24 h. Flushes."""
    now = now or utcnow()
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or consultation.status != "open":
        return None
    at = reminder_at(consultation)
    if at is None or not (at - timedelta(minutes=1) <= now < consultation.closes_at):
        return None
    project = db.session.get(Project, consultation.project_id)
    return publish_event(
        f"consultation-closing:{consultation.id}",
        "consultation_closing",
        f"即将截止：{consultation.title}",
        f"{project.name}的「{consultation.title}」将于{_local(consultation.closes_at)}截止，"
        "您家尚未参与。请打开小程序表决，每一户的意见都算数。",
        project,
        households=_not_voted(consultation.id),
    )


def consultation_closing(consultation_id: int) -> bool:
    """The job scheduled 24 h before the close."""
    notice = remind(consultation_id)
    commit()
    return notice is not None


def remind_due_consultations(now: datetime) -> list[int]:
    """Reminders whose scheduled job was lost (the sweep). Commits."""
    reminded_keys = select(Notice.event_key).where(Notice.event_key.like("consultation-closing:%"))
    candidates = db.session.scalars(
        select(Consultation).where(
            Consultation.status == "open",
            Consultation.closes_at > now,
            Consultation.closes_at <= now + REMIND_BEFORE,
        )
    ).all()
    done = set(db.session.scalars(reminded_keys))
    due = [
        c.id
        for c in candidates
        if f"consultation-closing:{c.id}" not in done and reminder_at(c) is not None
    ]
    reminded = []
    for consultation_id in due:
        if remind(consultation_id, now) is not None:
            reminded.append(consultation_id)
        commit()
    return reminded


def gate_final(project_id: int, consultation_id: int) -> Notice | None:
    """Publish the final result of the project's satisfaction consultation."""
    project = db.session.get(Project, project_id)
    consultation = db.session.get(Consultation, consultation_id)
    passed = project.gate_passed
    verdict = (
        "达到要求，方案可以启动实施。"
        if passed
        else "未达到要求，方案将根据居民意见修改后再次征询。"
    )
    return publish_event(
        f"gate-final:{consultation_id}",
        "gate_result",
        f"征询结果：{consultation.title}",
        f"{project.name}的「{consultation.title}」已结束。满意度"
        f"{_percent(project.plan_satisfaction_rate)}，参与率{_percent(project.participation_rate)}"
        f"（要求满意度不低于{_percent(consultation.threshold)}、参与率不低于"
        f"{_percent(consultation.quorum)}）：{verdict}",
        project,
    )


# --- milestones and tickets -------------------------------------------------------------------


def milestones_overdue(today=None) -> list[int]:
    """A notice for each milestone past its due date and not done, once per milestone. Commits."""
    today = today or local_today()
    rows = db.session.execute(
        select(Milestone, Project)
        .join(Project, Project.id == Milestone.project_id)
        .where(
            Milestone.done_on.is_(None),
            Milestone.due_on < today,
            Project.status != "accepted",
        )
        .order_by(Milestone.id)
    ).all()
    keys = {m.id: f"milestone-overdue:{m.id}" for m, _ in rows}
    known = set(
        db.session.scalars(select(Notice.event_key).where(Notice.event_key.in_(keys.values())))
    )
    published = []
    for milestone, project in rows:
        if keys[milestone.id] in known:
            continue
        label = MILESTONE_LABELS.get(milestone.kind, milestone.kind)
        notice = publish_event(
            keys[milestone.id],
            "milestone_overdue",
            f"进度提醒：{label}已逾期",
            f"{project.name}的「{label}」应于{milestone.due_on:%Y年%m月%d日}前完成，目前尚未完成。"
            "建设单位正在推进，如有疑问请联系社区居委会。",
            project,
        )
        commit()
        if notice is not None:
            published.append(milestone.id)
    return published


def notify_ticket_answered(ticket_id: int) -> Notice | None:
    """Tell the reporter of a ticket that the owner has answered it: a notice to them alone,
    pushed to their WeChat. Call it after `feedback.ticket_service.answer`, before the
    request's commit. Once per answer, however often it is called; None if the ticket has no
    answer (or the notice for its latest answer exists)."""
    ticket = db.session.get(Ticket, ticket_id)
    answer_id = db.session.scalar(
        select(func.max(TicketEvent.id)).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "answered"
        )
    )
    if ticket is None or answer_id is None:
        return None
    project = db.session.get(Project, ticket.project_id)
    subject = ticket.description if len(ticket.description) <= 30 else ticket.description[:29] + "…"
    return publish_event(
        f"ticket-answered:{ticket.id}:{answer_id}",
        "ticket_answered",
        "您反映的问题已答复",
        f"您在{project.name}反映的问题「{subject}」已有答复，请打开小程序查看；"
        "如不满意，可以在小程序中重新提出。",
        project,
        recipient_id=ticket.reporter_id,
    )
