"""Notices that publish by themselves when something happens: the listeners of other domains'
events (wired in `api.app.wire_domains`), and the overdue milestone of the daily job.

Each is written once per event: its `event_key` is UNIQUE, so an event reported twice (a job
retried, a reconcile catching up) publishes once. Each is published inside the transaction of
the work that reports it and is sent after that commits. A listener reads only the payload of its
event (the contract is `api.core.events`) and participation's projects, never the emitting
domain's tables.

- a consultation opened (voting's `consultation_opened`): to the project's households;
- 24 h before it closes (voting's `consultation_closing`): to the households of its electorate
  that have not voted yet, once per consultation;
- its gate result became final (voting's `gate_final`): to the project's households;
- a clerk's paper or assisted ballot replaced a household's WeChat ballot (voting's
  `ballot_replaced`): to that household's members, once per change, never saying the choice;
- a milestone overdue (`notices.jobs.milestones_overdue`, daily): to the project's households,
  once per milestone;
- an inspection ticket answered (feedback's `ticket_answered`): to its reporter alone, once per
  answer.
- a supervisor sign-up accepted or declined (feedback's `signup_reviewed`): to the resident
  alone, with the reason of a decline, once per sign-up.
- a membership revoked by a roster re-import that changed the household's owner
  (participation's `membership_revoked`): to that resident alone, with the reason, once per
  claim; about the estate, not a project, so the estate's committee sees it among its notices.
- a progress update published (feedback's `progress_posted`, 进度公示): to the project's
  households, once per update.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import func, select

from api.core import db, labels, local_text
from notices import queries
from notices.models import Notice
from notices.service import publishing
from participation.models import (
    Community,
    ContributionDue,
    Estate,
    Household,
    Milestone,
    Project,
)

log = logging.getLogger(__name__)


def _percent(value) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def publish_event(
    event_key: str,
    category: str,
    title: str,
    body: str,
    project: Project | None,
    *,
    households=None,
    recipient_id: int | None = None,
    estate: Estate | None = None,
) -> Notice | None:
    """Publish a system notice about `project` unless this event already has one or it would
    reach nobody; the notice, or None. To `recipient_id` alone if given, else to `households`
    (a SELECT of one column `id`), else to the project's households. A notice to one resident
    may be about `estate` instead of a project (`project` None). Flushes; the caller commits."""
    if project is not None:
        place = {"county_id": project.county_id, "project_id": project.id}
    else:
        place = {
            "county_id": estate.community.county_id,
            "community_id": estate.community_id,
            "estate_id": estate.id,
        }
    if recipient_id is None:
        probe = households if households is not None else queries.project_households(project.id)
        if not db.session.scalar(select(func.count()).select_from(probe.subquery())):
            log.info("event %s reaches no household: no notice", event_key)
            return None
    notice_id = publishing.insert_event_notice(
        {
            "event_key": event_key,
            "category": category,
            "title": title[:100],
            "body": body,
            "target_kind": "resident" if recipient_id else "project",
            "recipient_id": recipient_id,
            **place,
        }
    )
    if notice_id is None:
        return None
    notice = db.session.get(Notice, notice_id)
    return publishing.publish(notice, households=households)


# --- consultations (voting's events) ----------------------------------------------------------


def consultation_opened(
    *,
    consultation_id: int,
    project_id: int,
    kind: str,
    title: str,
    opened_at: datetime,
    closes_at: datetime | None,
) -> Notice | None:
    """Announce an opened consultation to the project's households."""
    project = db.session.get(Project, project_id)
    closes = f"截止时间为{local_text(closes_at)}。" if closes_at else ""
    return publish_event(
        f"consultation-opened:{consultation_id}",
        "consultation_open",
        f"{labels.CONSULTATION_KINDS[kind]}开始：{title}",
        f"{project.name}的「{title}」已开始。{closes}"
        "请打开小程序参与表决：每户一票，截止前可以修改。",
        project,
    )


def consultation_closing(
    *,
    consultation_id: int,
    project_id: int,
    title: str,
    closes_at: datetime,
    households,
) -> Notice | None:
    """Remind `households` (those that have not voted) that the consultation closes soon; once
    per consultation, however often voting reports it (every reconcile run of its last 24 h)."""
    event_key = f"consultation-closing:{consultation_id}"
    if db.session.scalar(select(Notice.id).where(Notice.event_key == event_key)) is not None:
        return None
    project = db.session.get(Project, project_id)
    return publish_event(
        event_key,
        "consultation_closing",
        f"即将截止：{title}",
        f"{project.name}的「{title}」将于{local_text(closes_at)}截止，"
        "您家尚未参与。请打开小程序表决，每一户的意见都算数。",
        project,
        households=households,
    )


def gate_final(
    *,
    project_id: int,
    consultation_id: int,
    title: str,
    threshold: Fraction | Decimal,
    quorum: Fraction | Decimal,
    passed: bool,
    satisfaction_rate: Decimal | None,
    participation_rate: Decimal | None,
) -> Notice | None:
    """Publish the final result of the project's satisfaction consultation."""
    project = db.session.get(Project, project_id)
    verdict = (
        "达到要求，方案可以启动实施。"
        if passed
        else "未达到要求，方案将根据居民意见修改后再次征询。"
    )
    return publish_event(
        f"gate-final:{consultation_id}",
        "gate_result",
        f"征询结果：{title}",
        f"{project.name}的「{title}」已结束。满意度"
        f"{_percent(satisfaction_rate)}，参与率{_percent(participation_rate)}"
        f"（要求满意度不低于{_percent(threshold)}、参与率不低于"
        f"{_percent(quorum)}）：{verdict}",
        project,
    )


def ballot_replaced(
    *,
    consultation_id: int,
    project_id: int,
    title: str,
    household_id: int,
    revision: int,
    channel: str,
) -> Notice | None:
    """Tell a household's members that the committee recorded a paper or assisted ballot for
    it, which replaces the ballot cast on WeChat, and whom to ask; never what either chose.
    Once per change (the ballot's revision), however often it is reported."""
    project = db.session.get(Project, project_id)
    community = db.session.scalar(
        select(Community.name)
        .join(Estate, Estate.community_id == Community.id)
        .join(Household, Household.estate_id == Estate.id)
        .where(Household.id == household_id)
    )
    return publish_event(
        f"ballot-replaced:{consultation_id}:{household_id}:{revision}",
        "ballot_replaced",
        f"您家的选票已由居委会代录：{title}",
        f"{project.name}的「{title}」中，社区居委会为您家录入了选票"
        f"（{labels.CHANNELS[channel]}，附有凭证），它取代了您家此前在微信中投的票：每户一票，"
        "以截止前最后一次为准。如与您家的意愿不符，截止前有表决权的成员仍可在小程序中重新投票，"
        f"或向{community or '社区'}居委会询问录入经过。",
        project,
        households=select(Household.id.label("id")).where(Household.id == household_id),
    )


# --- tickets (feedback's event) ---------------------------------------------------------------


def ticket_answered(
    *, ticket_id: int, answer_id: int, project_id: int, reporter_id: int, description: str
) -> Notice | None:
    """Tell the reporter of a ticket that the owner has answered it: a notice to them alone,
    pushed to their WeChat. Once per answer, however often it is reported."""
    project = db.session.get(Project, project_id)
    subject = description if len(description) <= 30 else description[:29] + "…"
    return publish_event(
        f"ticket-answered:{ticket_id}:{answer_id}",
        "ticket_answered",
        "您反映的问题已答复",
        f"您在{project.name}反映的问题「{subject}」已有答复，请打开小程序查看；"
        "如不满意，可以在小程序中重新提出。",
        project,
        recipient_id=reporter_id,
    )


def signup_reviewed(
    *, signup_id: int, project_id: int, resident_id: int, status: str, reason: str | None
) -> Notice | None:
    """Tell a resident that the committee accepted or declined their supervisor sign-up (with
    the reason): a notice to them alone, pushed to their WeChat. Once per sign-up."""
    project = db.session.get(Project, project_id)
    if status == "accepted":
        title = "您的监督员报名已通过"
        body = (
            f"您报名担任{project.name}的居民监督员，社区居委会已同意。"
            "施工期间可在小程序中提交巡查记录，发现问题随时反映。"
        )
    else:
        title = "您的监督员报名未通过"
        body = (
            f"您报名担任{project.name}的居民监督员，社区居委会未予同意，原因：{reason}。"
            "如有疑问请联系社区居委会。"
        )
    return publish_event(
        f"signup-reviewed:{signup_id}",
        "supervision_reviewed",
        title,
        body,
        project,
        recipient_id=resident_id,
    )


# --- progress updates (feedback's event) -------------------------------------------------------

PROGRESS_EXCERPT = 200


def progress_posted(
    *, progress_id: int, project_id: int, body: str, photo_count: int, posted_at: datetime
) -> Notice | None:
    """Publish a progress update (进度公示) to the project's households: its text (the start
    of a long one) and how many photos the mini-program shows with it. Once per update."""
    project = db.session.get(Project, project_id)
    text = body if len(body) <= PROGRESS_EXCERPT else body[: PROGRESS_EXCERPT - 1] + "…"
    photos = f"（附照片{photo_count}张）" if photo_count else ""
    return publish_event(
        f"progress-posted:{progress_id}",
        "progress_update",
        f"进度公示：{project.name}",
        f"{project.name}发布进度公示{photos}：{text}\n请打开小程序查看项目进度。",
        project,
    )


# --- residents' contributions (participation's events) ----------------------------------------


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def _scheme_households(scheme_id: int):
    """The households a scheme froze an amount for: those it asks money of."""
    return select(ContributionDue.household_id.label("id")).where(
        ContributionDue.scheme_id == scheme_id
    )


def scheme_adopted(
    *, scheme_id: int, project_id: int, title: str, basis: str, rate_fen: int, due_on: date
) -> Notice | None:
    """Tell the households of an adopted contribution scheme (居民出资) that the owners adopted
    it, how it is shared, and to answer in the mini-program before the due date. Once per
    scheme."""
    project = db.session.get(Project, project_id)
    rate = (
        f"按建筑面积每平方米{_yuan(rate_fen)}元"
        if basis == "floor_area"
        else f"每户{_yuan(rate_fen)}元"
    )
    return publish_event(
        f"scheme-adopted:{scheme_id}",
        "general",
        f"居民出资方案已通过：{title}",
        f"{project.name}的居民出资方案「{title}」已经业主共同决定通过，{rate}（按分四舍五入）。"
        f"请打开小程序查看您家应出资的金额，并确认是否承诺出资；缴款截止日期为{due_on.isoformat()}。",
        project,
        households=_scheme_households(scheme_id),
    )


def scheme_cancelled(*, scheme_id: int, project_id: int, title: str, reason: str) -> Notice | None:
    """Tell the households of an adopted scheme that it was cancelled, why, and that what they
    paid is refunded. Once per scheme."""
    project = db.session.get(Project, project_id)
    return publish_event(
        f"scheme-cancelled:{scheme_id}",
        "general",
        f"居民出资方案已取消：{title}",
        f"{project.name}的居民出资方案「{title}」已取消，原因：{reason}。"
        "已缴纳的款项将由社区居委会办理退款，请留意通知。",
        project,
        households=_scheme_households(scheme_id),
    )


# --- memberships (participation's event) -----------------------------------------------------


def membership_revoked(
    *,
    claim_id: int,
    household_id: int,
    resident_id: int,
    estate_id: int,
    address: str,
    reason: str,
) -> Notice | None:
    """Tell a resident that a roster re-import revoked their membership of a household, why,
    and how to bind it again: a notice to them alone, pushed to their WeChat. Once per claim."""
    estate = db.session.get(Estate, estate_id)
    return publish_event(
        f"membership-revoked:{claim_id}",
        "membership_revoked",
        "您的住户认证已撤销",
        f"您在{address}的住户认证已撤销，原因：{reason}。"
        "此后您不能再为该户参加尚未结束的表决，您家此前已投的票仍然有效。"
        "如您仍是该房屋的业主或其家庭成员，可在小程序中按花名册的最新信息重新认证；"
        f"如有疑问请联系{estate.community.name}居委会。",
        None,
        recipient_id=resident_id,
        estate=estate,
    )


# --- milestones (the daily job) ---------------------------------------------------------------


def milestone_key(milestone_id: int) -> str:
    """The event key of a milestone's overdue notice."""
    return f"milestone-overdue:{milestone_id}"


def milestone_overdue(milestone: Milestone, project: Project) -> Notice | None:
    """Announce an overdue milestone to the project's households, once per milestone."""
    label = labels.MILESTONES.get(milestone.kind, milestone.kind)
    return publish_event(
        milestone_key(milestone.id),
        "milestone_overdue",
        f"进度提醒：{label}已逾期",
        f"{project.name}的「{label}」应于{milestone.due_on:%Y年%m月%d日}前完成，目前尚未完成。"
        "建设单位正在推进，如有疑问请联系社区居委会。",
        project,
    )
