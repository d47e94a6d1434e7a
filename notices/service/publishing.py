"""Writing notices: create, edit, schedule, publish (freezing the households reached),
withdraw, read. Functions flush, never commit; the delivery jobs run after the caller's commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, literal, select

from api.core import Conflict, InvalidInput, db, dialect_insert, utcnow
from notices import queries
from notices.models import Delivery, Notice, NoticeRead, NoticeTarget
from notices.service import delivery
from participation.models import HouseholdClaim, Resident, Staff


def _check_times(now: datetime, publish_at: datetime | None, expires_at: datetime | None):
    if publish_at is not None and publish_at <= now:
        raise InvalidInput("定时发布时间须晚于当前时间", code="publish_at_past")
    if expires_at is not None and expires_at <= max(now, publish_at or now):
        raise InvalidInput("过期时间须晚于发布时间", code="expires_before_publish")


def create_notice(staff: Staff | None, target: dict, args: dict) -> Notice:
    """A draft, a scheduled notice (`publish_at` ahead) or one published now, for `target`
    (see `notices.queries.resolve_target`)."""
    now = utcnow()
    publish_at = args.get("publish_at")
    _check_times(now, publish_at, args.get("expires_at"))
    notice = Notice(
        category=args["category"],
        title=args["title"],
        body=args["body"],
        attachments=args.get("attachments") or [],
        pinned=args.get("pinned", False),
        expires_at=args.get("expires_at"),
        target_kind=target["target_kind"],
        county_id=target["county_id"],
        community_id=target.get("community_id"),
        estate_id=getattr(target.get("estate"), "id", None),
        project_id=getattr(target.get("project"), "id", None),
        building_ids=target.get("building_ids"),
        recipient_id=target.get("recipient_id"),
        status="draft",
        publish_at=publish_at,
        author_id=staff.id if staff else None,
        event_key=args.get("event_key"),
        created_at=now,
        updated_at=now,
    )
    db.session.add(notice)
    db.session.flush()
    if args.get("draft"):
        return notice
    if publish_at is not None:
        notice.status = "scheduled"
        db.session.flush()
        return notice
    return publish(notice, now)


CONTENT_FIELDS = ("category", "title", "body", "attachments")


def update_notice(notice: Notice, args: dict) -> Notice:
    """Content changes while a draft or scheduled; pin and expiry while not withdrawn."""
    if notice.status == "withdrawn":
        raise Conflict("公告已撤回，不能修改", code="notice_withdrawn")
    changing = [name for name in CONTENT_FIELDS if name in args]
    if changing and notice.status == "published":
        raise Conflict(
            "公告已发布，内容不能修改；如有错误请撤回后重新发布",
            code="notice_already_published",
            details={"fields": changing},
        )
    if "expires_at" in args and args["expires_at"] is not None:
        start = notice.published_at or notice.publish_at
        _check_times(utcnow(), None, args["expires_at"])
        if start is not None and args["expires_at"] <= start:
            raise InvalidInput("过期时间须晚于发布时间", code="expires_before_publish")
    for name in (*CONTENT_FIELDS, "pinned", "expires_at"):
        if name in args:
            setattr(notice, name, args[name])
    notice.updated_at = utcnow()
    db.session.flush()
    return notice


def _require_unpublished(notice: Notice) -> None:
    if notice.status == "published":
        raise Conflict("公告已发布", code="notice_already_published")
    if notice.status == "withdrawn":
        raise Conflict("公告已撤回", code="notice_withdrawn")


def schedule(notice: Notice, publish_at: datetime) -> Notice:
    """Publish at `publish_at` (the caller asks the scheduler: notices.jobs.schedule_publish)."""
    _require_unpublished(notice)
    _check_times(utcnow(), publish_at, notice.expires_at)
    notice.status, notice.publish_at = "scheduled", publish_at
    db.session.flush()
    return notice


def publish(notice: Notice, now: datetime | None = None, households=None) -> Notice:
    """Publish now: freeze the households reached and the residents to message, and ask for the
    delivery jobs (they run after the commit). `households`, a SELECT of household ids, narrows
    the audience (a reminder to those who have not voted)."""
    now = now or utcnow()
    _require_unpublished(notice)
    if notice.expired(now):
        raise Conflict("公告已过期，不能发布", code="notice_expired")
    if households is None:
        households = queries.audience(notice)
    if households is not None:
        db.session.execute(
            insert(NoticeTarget).from_select(
                ["notice_id", "household_id"],
                select(literal(notice.id), households.subquery().c.id),
            )
        )
        reached = db.session.scalar(select(func.count()).where(NoticeTarget.notice_id == notice.id))
        if not reached:
            raise Conflict("发布范围内还没有住户花名册，公告不会送达任何人", code="audience_empty")
        residents = (
            select(HouseholdClaim.resident_id.label("resident_id"))
            .join(NoticeTarget, NoticeTarget.household_id == HouseholdClaim.household_id)
            .where(NoticeTarget.notice_id == notice.id, HouseholdClaim.status == "verified")
            .distinct()
            .subquery()
        )
        resident_ids = select(residents.c.resident_id)
    else:
        resident_ids = select(Resident.id.label("resident_id")).where(
            Resident.id == notice.recipient_id
        )
    ids = resident_ids.subquery()
    db.session.execute(
        insert(Delivery).from_select(
            ["notice_id", "resident_id", "template_id", "status", "attempts", "created_at"]
            + ["updated_at"],
            select(
                literal(notice.id),
                ids.c.resident_id,
                literal(queries.template_for(notice.category)),
                literal("pending"),
                literal(0),
                literal(now, Delivery.created_at.type),
                literal(now, Delivery.updated_at.type),
            ),
        )
    )
    notice.status, notice.published_at = "published", now
    notice.updated_at = now
    db.session.flush()
    delivery.request_delivery(notice.id)
    return notice


def withdraw(notice: Notice, staff: Staff, reason: str) -> Notice:
    """Withdraw (撤回): residents no longer list it, unsent messages are cancelled; the notice,
    its reads and deliveries stay in the record."""
    if notice.status == "withdrawn":
        raise Conflict("公告已撤回", code="notice_withdrawn")
    now = utcnow()
    notice.status, notice.withdrawn_at = "withdrawn", now
    notice.withdraw_reason, notice.withdrawn_by_id = reason, staff.id
    notice.updated_at = now
    delivery.cancel_open(notice.id, now)
    db.session.flush()
    return notice


def _insert_ignoring_duplicates(table, values: dict, conflict: list[str]) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING: the new row's id, or None if one was there."""
    return db.session.execute(
        dialect_insert(table)
        .values(values)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(table.c.id)
    ).scalar()


def mark_read(notice: Notice, resident: Resident) -> NoticeRead:
    """Record that the resident read it; reading again changes nothing."""
    if notice.status != "published":
        raise Conflict("公告已撤回", code="notice_withdrawn")
    _insert_ignoring_duplicates(
        NoticeRead.__table__,
        {"notice_id": notice.id, "resident_id": resident.id, "read_at": utcnow()},
        ["notice_id", "resident_id"],
    )
    return db.session.scalar(
        select(NoticeRead).where(
            NoticeRead.notice_id == notice.id, NoticeRead.resident_id == resident.id
        )
    )


def insert_event_notice(values: dict) -> int | None:
    """Insert a system notice named by `values["event_key"]`; None if that event has one."""
    now = utcnow()
    row = {"status": "draft", "created_at": now, "updated_at": now, "pinned": False, **values}
    row.setdefault("attachments", [])
    return _insert_ignoring_duplicates(Notice.__table__, row, ["event_key"])
