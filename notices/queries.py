"""Reads of notices: the place a notice is for, a resident's list, a staff member's list, read
receipts, delivery counts, the templates and consents of subscriptions. Every figure is an SQL
aggregate; no list of residents or households is loaded to count it."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import Select, and_, bindparam, case, distinct, exists, func, or_, select, union_all

from api.core import InvalidInput, db, get_or_404
from notices.models import (
    CATEGORIES,
    DELIVERY_STATUSES,
    Delivery,
    Notice,
    NoticeRead,
    NoticeTarget,
    SubscriptionConsent,
)
from participation.models import (
    Building,
    Community,
    Estate,
    Household,
    HouseholdClaim,
    Project,
    Resident,
    project_estates,
)

# --- the place a notice is for ----------------------------------------------------------------


def resolve_target(args: dict) -> dict:
    """The place a new notice is for, with the ids kept on the notice (404 if unknown; 422 if
    the chosen buildings are not the estate's)."""
    if args.get("project_id") is not None:
        project = get_or_404(Project, args["project_id"], "project_not_found", "找不到该项目")
        return {"target_kind": "project", "county_id": project.county_id, "project": project}
    if args.get("estate_id") is not None:
        estate = get_or_404(Estate, args["estate_id"], "estate_not_found", "找不到该小区")
        target = {
            "target_kind": "estate",
            "county_id": estate.community.county_id,
            "community_id": estate.community_id,
            "estate": estate,
        }
        building_ids = sorted(set(args.get("building_ids") or []))
        if building_ids:
            found = set(
                db.session.scalars(
                    select(Building.id).where(
                        Building.estate_id == estate.id, Building.id.in_(building_ids)
                    )
                )
            )
            missing = sorted(set(building_ids) - found)
            if missing:
                raise InvalidInput(
                    "所选楼栋不属于该小区",
                    code="buildings_not_in_estate",
                    details={"building_ids": missing},
                )
            target.update(target_kind="buildings", building_ids=building_ids)
        return target
    community = get_or_404(Community, args["community_id"], "community_not_found", "找不到该社区")
    return {
        "target_kind": "community",
        "county_id": community.county_id,
        "community_id": community.id,
        "community": community,
    }


def audience(notice: Notice):
    """SELECT of the households the notice is for, as the roster stands now (None: one
    resident)."""
    if notice.target_kind == "community":
        return (
            select(Household.id)
            .join(Estate, Estate.id == Household.estate_id)
            .where(Estate.community_id == notice.community_id)
        )
    if notice.target_kind == "estate":
        return select(Household.id).where(Household.estate_id == notice.estate_id)
    if notice.target_kind == "buildings":
        return select(Household.id).where(Household.building_id.in_(notice.building_ids))
    if notice.target_kind == "project":
        return project_households(notice.project_id)
    return None  # one resident


def project_households(project_id: int):
    """SELECT of the households of a project's estates."""
    return select(Household.id).where(
        Household.estate_id.in_(
            select(project_estates.c.estate_id).where(project_estates.c.project_id == project_id)
        )
    )


# --- residents' lists -------------------------------------------------------------------------


def _read_by(resident_id: int):
    return (
        select(NoticeRead.id)
        .where(NoticeRead.notice_id == Notice.id, NoticeRead.resident_id == resident_id)
        .exists()
    )


def resident_notices(resident_id: int, now: datetime):
    """SELECT (Notice, read) of the resident's notices: published, not expired, to one of their
    verified households or to them; pinned first, then newest first."""
    households = select(HouseholdClaim.household_id).where(
        HouseholdClaim.resident_id == resident_id, HouseholdClaim.status == "verified"
    )
    # Found from the resident's side (their households' targets, the notices addressed to
    # them), both by index: `recipient OR EXISTS (target)` made PostgreSQL read every notice.
    addressed = Notice.__table__.alias("addressed")
    theirs = union_all(
        select(NoticeTarget.notice_id).where(NoticeTarget.household_id.in_(households)),
        select(addressed.c.id).where(addressed.c.recipient_id == resident_id),
    )
    return (
        select(Notice, _read_by(resident_id).label("read"))
        .where(
            Notice.status == "published",
            or_(Notice.expires_at.is_(None), Notice.expires_at > now),
            Notice.id.in_(theirs),
        )
        .order_by(Notice.pinned.desc(), Notice.published_at.desc(), Notice.id.desc())
    )


def is_read(notice: Notice, resident: Resident) -> bool:
    return (
        db.session.scalar(
            select(NoticeRead.id).where(
                NoticeRead.notice_id == notice.id, NoticeRead.resident_id == resident.id
            )
        )
        is not None
    )


def _page(statement, args: dict, values: dict | None = None) -> tuple[list, int]:
    """One page of `statement`'s rows (run with `values` bound) and the number of rows of all
    pages, in one statement: each row carries the total (`count(*) OVER ()`, counted before
    the page is cut). Only a page past the end, which has no row to carry it, counts with a
    second statement."""
    page, per_page = args["page"], args["per_page"]
    rows = db.session.execute(
        statement.add_columns(func.count().over().label("total"))
        .limit(per_page)
        .offset((page - 1) * per_page),
        values,
    ).all()
    if rows:
        return [tuple(row)[:-1] for row in rows], rows[0].total
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    return [], db.session.scalar(count, values)


# The resident's list, built once per shape (with or without a category, unread or read only)
# and run with bound values: building the statement costs about what running it does.
_RESIDENT_LISTS: dict[tuple[bool, bool | None], Select] = {}


def _resident_list(by_category: bool, unread: bool | None) -> Select:
    key = (by_category, unread)
    statement = _RESIDENT_LISTS.get(key)
    if statement is None:
        resident_id = bindparam("resident_id")
        statement = resident_notices(resident_id, bindparam("now"))
        if by_category:
            statement = statement.where(Notice.category == bindparam("category"))
        if unread is not None:
            read = _read_by(resident_id)
            statement = statement.where(~read if unread else read)
        _RESIDENT_LISTS[key] = statement
    return statement


def resident_page(resident_id: int, now: datetime, args: dict) -> dict:
    """One page of the resident's notices (`resident_notices`, of `args["category"]` if given;
    with `args["unread"]` True only those they have not read, False only those they have),
    each with `read` set: the envelope of a page (items, page, per_page, total), in one
    statement (`_page`)."""
    category = args.get("category")
    values = {"resident_id": resident_id, "now": now}
    if category:
        values["category"] = category
    rows, total = _page(_resident_list(bool(category), args.get("unread")), args, values)
    items = []
    for notice, read in rows:
        notice.read = bool(read)
        items.append(notice)
    return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}


_UNREAD_COUNT = select(func.count()).select_from(
    _resident_list(False, True).with_only_columns(Notice.id).order_by(None).subquery()
)


def unread_count(resident_id: int, now: datetime) -> int:
    """How many of the resident's notices (`resident_notices`) they have not read: a notice is
    unread until the resident has a read receipt of it. One statement."""
    return db.session.scalar(_UNREAD_COUNT, {"resident_id": resident_id, "now": now})


def as_resident_sees_it(notice: Notice, resident: Resident) -> Notice:
    """The notice with `read` set for the resident; a withdrawn one shows why, not what it said
    (detached first, so the blanked text is never written back)."""
    notice.read = is_read(notice, resident)
    if notice.status == "withdrawn":
        db.session.expunge(notice)
        notice.body, notice.attachments = None, []
    return notice


# --- staff lists ------------------------------------------------------------------------------


def staff_notices(visible, filters: dict):
    """SELECT of the notices matching `visible` (`notices.policy.visible_notices`), newest first,
    filtered by status, category, community, estate or project, and personal or not."""
    statement = select(Notice).where(visible)
    for name in ("status", "category", "community_id", "estate_id", "project_id"):
        if filters.get(name) is not None:
            statement = statement.where(getattr(Notice, name) == filters[name])
    if filters.get("personal") is not None:
        personal = Notice.recipient_id.is_not(None)
        statement = statement.where(personal if filters["personal"] else ~personal)
    return statement.order_by(Notice.created_at.desc(), Notice.id.desc())


def staff_page(visible, args: dict) -> dict:
    """One page of `staff_notices(visible, args)`: the envelope of a page, in one statement
    (`_page`)."""
    rows, total = _page(staff_notices(visible, args), args)
    items = [notice for (notice,) in rows]
    return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}


# --- receipts ---------------------------------------------------------------------------------


def delivery_counts(notice_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.notice_id == notice_id)
        .group_by(Delivery.status)
    ).all()
    counts = {
        status: 0 for status in ("pending", "sending", "sent", "no_consent", "failed", "retrying")
    }
    counts["cancelled"] = 0
    counts.update({status: int(n) for status, n in rows})
    counts["total"] = sum(counts.values())
    return counts


def deliveries_by_status() -> dict[str, int]:
    """Deliveries of all notices by status, every status present (0 when none): one indexed
    GROUP BY, cheap enough for each scrape of the metrics."""
    rows = db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    counts = dict.fromkeys(DELIVERY_STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


def receipts(notice: Notice, lowest: int = 10) -> dict:
    """Who has read it: the share of targeted households with at least one verified member who
    read it, per building the `lowest` shares first, and the residents' reads and deliveries."""
    household_read = (
        exists()
        .where(
            HouseholdClaim.household_id == NoticeTarget.household_id,
            HouseholdClaim.status == "verified",
            NoticeRead.resident_id == HouseholdClaim.resident_id,
            NoticeRead.notice_id == notice.id,
        )
        .correlate(NoticeTarget)
    )
    read_flag = case((household_read, 1), else_=0)
    targeted, read = db.session.execute(
        select(func.count(), func.coalesce(func.sum(read_flag), 0)).where(
            NoticeTarget.notice_id == notice.id
        )
    ).one()
    per_building = (
        select(
            Building.id,
            Building.name,
            Estate.name.label("estate"),
            func.count().label("targeted"),
            func.coalesce(func.sum(read_flag), 0).label("read"),
        )
        .select_from(NoticeTarget)
        .join(Household, Household.id == NoticeTarget.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Estate, Estate.id == Building.estate_id)
        .where(NoticeTarget.notice_id == notice.id)
        .group_by(Building.id, Building.name, Estate.name)
        .subquery()
    )
    share = per_building.c.read * 1.0 / per_building.c.targeted
    buildings = db.session.execute(
        select(per_building)
        .order_by(share, per_building.c.targeted.desc(), per_building.c.id)
        .limit(lowest)
    ).all()
    building_count = db.session.scalar(select(func.count()).select_from(per_building))
    residents_read = db.session.scalar(
        select(func.count(distinct(NoticeRead.resident_id))).where(
            NoticeRead.notice_id == notice.id
        )
    )
    return {
        "notice_id": notice.id,
        "status": notice.status,
        "households_targeted": int(targeted),
        "households_read": int(read),
        "read_share": round(int(read) / int(targeted), 4) if targeted else None,
        "residents_read": int(residents_read or 0),
        "buildings_total": int(building_count or 0),
        "lowest_buildings": [
            {
                "building_id": row.id,
                "building": row.name,
                "estate": row.estate,
                "households_targeted": int(row.targeted),
                "households_read": int(row.read),
                "read_share": round(int(row.read) / int(row.targeted), 4),
            }
            for row in buildings
        ],
        "deliveries": delivery_counts(notice.id),
    }


# --- the console's figures of one notice: deliveries by reason, buildings, whom to visit -------

# Why a message was not sent (or not yet): the reason's code -> its label. WeChat's own error
# text is never repeated (it carries a request id per call): the errcode says enough.
DELIVERY_REASONS = {
    "no_consent": "居民未订阅消息（没有可用的授权）",
    "withdrawn": "公告已撤回，未发出的消息已取消",
    "interrupted": "发送中断（为免重复，不再重发）",
    "refused": "居民拒收或授权已用完（43101）",
    "wechat_unavailable": "微信无响应",
    "wechat_error": "微信拒绝发送",
}


def _household_read(notice_id: int):
    """EXISTS: a verified member of the targeted household (`NoticeTarget`, correlated) read
    the notice."""
    return (
        exists()
        .where(
            HouseholdClaim.household_id == NoticeTarget.household_id,
            HouseholdClaim.status == "verified",
            NoticeRead.resident_id == HouseholdClaim.resident_id,
            NoticeRead.notice_id == notice_id,
        )
        .correlate(NoticeTarget)
    )


def _verified_members():
    """The verified members of the targeted household (`NoticeTarget`, correlated)."""
    return (
        select(func.count(HouseholdClaim.id))
        .where(
            HouseholdClaim.household_id == NoticeTarget.household_id,
            HouseholdClaim.status == "verified",
        )
        .correlate(NoticeTarget)
        .scalar_subquery()
    )


def _targeted_and_read(notice_id: int) -> tuple[int, int]:
    targeted, read = db.session.execute(
        select(
            func.count(), func.coalesce(func.sum(case((_household_read(notice_id), 1), else_=0)), 0)
        ).where(NoticeTarget.notice_id == notice_id)
    ).one()
    return int(targeted), int(read)


def delivery_report(notice: Notice) -> dict:
    """The WeChat messages of the notice by status, and those not sent by reason (one row per
    status, reason and errcode); the targeted households that have no verified member, whom no
    message can reach. Aggregates only."""
    reason = case(
        (Delivery.status == "no_consent", "no_consent"),
        (Delivery.status == "cancelled", "withdrawn"),
        (Delivery.last_error == "interrupted", "interrupted"),
        (Delivery.errcode == 43101, "refused"),
        (Delivery.errcode.is_(None), "wechat_unavailable"),
        else_="wechat_error",
    ).label("reason")
    errcode = case(
        (
            and_(
                Delivery.status.in_(("failed", "retrying")),
                Delivery.last_error.is_distinct_from("interrupted"),
                Delivery.errcode.is_not(None),
            ),
            Delivery.errcode,
        ),
        else_=None,
    ).label("errcode")
    unsent = (
        select(Delivery.status.label("status"), reason, errcode)
        .where(
            Delivery.notice_id == notice.id,
            Delivery.status.in_(("no_consent", "failed", "retrying", "cancelled")),
        )
        .subquery()
    )
    rows = db.session.execute(
        select(unsent.c.status, unsent.c.reason, unsent.c.errcode, func.count())
        .group_by(unsent.c.status, unsent.c.reason, unsent.c.errcode)
        .order_by(func.count().desc(), unsent.c.status, unsent.c.reason, unsent.c.errcode)
    ).all()
    targeted, without = db.session.execute(
        select(
            func.count(), func.coalesce(func.sum(case((_verified_members() == 0, 1), else_=0)), 0)
        ).where(NoticeTarget.notice_id == notice.id)
    ).one()
    reasons = []
    for status, code, errcode_, count in rows:
        label = DELIVERY_REASONS[code]
        if code == "wechat_error" and errcode_ is not None:
            label = f"{label}（错误码 {errcode_}）"
        reasons.append(
            {
                "status": status,
                "reason": code,
                "reason_label": label,
                "errcode": errcode_,
                "count": int(count),
            }
        )
    return {
        "notice_id": notice.id,
        "status": notice.status,
        "deliveries": delivery_counts(notice.id),
        "reasons": reasons,
        "households_targeted": int(targeted),
        "households_without_member": int(without),
    }


def _natural(*columns):
    """ORDER BY terms that sort names as numbers do (2栋 before 10栋)."""
    terms = []
    for column in columns:
        terms += [func.length(column), column]
    return terms


def building_shares_page(notice: Notice, args: dict) -> dict:
    """One page of the buildings the notice reached, in their natural order, each with the
    households targeted and read and the read share; the notice's totals beside the page."""
    read_flag = case((_household_read(notice.id), 1), else_=0)
    statement = (
        select(
            Building.id.label("building_id"),
            Building.name.label("building"),
            Estate.name.label("estate"),
            func.count().label("households_targeted"),
            func.coalesce(func.sum(read_flag), 0).label("households_read"),
        )
        .select_from(NoticeTarget)
        .join(Household, Household.id == NoticeTarget.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Estate, Estate.id == Building.estate_id)
        .where(NoticeTarget.notice_id == notice.id)
        .group_by(Estate.id, Building.id, Building.name, Estate.name)
        .order_by(Estate.id, *_natural(Building.name), Building.id)
    )
    rows, total = _page(statement, args)
    targeted, read = _targeted_and_read(notice.id)
    items = [
        {
            "building_id": building_id,
            "building": building,
            "estate": estate,
            "households_targeted": int(n),
            "households_read": int(r),
            "read_share": round(int(r) / int(n), 4) if n else None,
        }
        for building_id, building, estate, n, r in rows
    ]
    return {
        "notice_id": notice.id,
        "households_targeted": targeted,
        "households_read": read,
        "read_share": round(read / targeted, 4) if targeted else None,
        "items": items,
        "page": args["page"],
        "per_page": args["per_page"],
        "total": total,
    }


def unreached_page(notice: Notice, args: dict) -> dict:
    """One page of the targeted households no verified member of which has read the notice
    (of one building if `args["building_id"]`; 422 `building_not_in_notice` for a building it
    did not reach), by estate, building, unit and room, with the roster's owner (masked by the
    schema) and the household's verified members (none: no WeChat message can reach it)."""
    building_id = args.get("building_id")
    if building_id is not None:
        reached = db.session.scalar(
            select(NoticeTarget.household_id)
            .join(Household, Household.id == NoticeTarget.household_id)
            .where(NoticeTarget.notice_id == notice.id, Household.building_id == building_id)
            .limit(1)
        )
        if reached is None:
            raise InvalidInput(
                "该楼栋不在这条公告的发布范围内",
                code="building_not_in_notice",
                details={"building_id": building_id},
            )
    where = [NoticeTarget.notice_id == notice.id, ~_household_read(notice.id)]
    if building_id is not None:
        where.append(Household.building_id == building_id)
    statement = (
        select(
            Household.id.label("household_id"),
            Estate.name.label("estate"),
            Building.id.label("building_id"),
            Building.name.label("building"),
            Household.unit,
            Household.room,
            Household.owner_name,
            _verified_members().label("verified_members"),
        )
        .select_from(NoticeTarget)
        .join(Household, Household.id == NoticeTarget.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Estate, Estate.id == Building.estate_id)
        .where(*where)
        .order_by(
            Estate.id,
            *_natural(Building.name),
            Building.id,
            *_natural(Household.unit, Household.room),
            Household.id,
        )
    )
    rows, total = _page(statement, args)
    targeted, read = _targeted_and_read(notice.id)
    names = ("household_id", "estate", "building_id", "building", "unit", "room", "owner_name")
    names += ("verified_members",)
    return {
        "notice_id": notice.id,
        "households_targeted": targeted,
        "not_reached": targeted - read,
        "items": [dict(zip(names, row, strict=True)) for row in rows],
        "page": args["page"],
        "per_page": args["per_page"],
        "total": total,
    }


# --- subscriptions ----------------------------------------------------------------------------


def template_for(category: str) -> str:
    """The subscription message template that carries notices of `category`."""
    config = current_app.config
    return config["NOTICE_TEMPLATE_IDS"].get(category, config["NOTICE_TEMPLATE_ID"])


def known_templates() -> dict[str, list[str]]:
    """Template id -> the categories it carries."""
    templates: dict[str, list[str]] = {}
    for category in CATEGORIES:
        templates.setdefault(template_for(category), []).append(category)
    return templates


def unspent(resident: Resident) -> dict[str, int]:
    """Template id -> the resident's consents not yet spent (templates with none left out)."""
    rows = db.session.execute(
        select(SubscriptionConsent.template_id, func.count())
        .where(
            SubscriptionConsent.resident_id == resident.id,
            SubscriptionConsent.spent_at.is_(None),
        )
        .group_by(SubscriptionConsent.template_id)
    ).all()
    return {template: int(n) for template, n in rows}


def subscriptions(resident: Resident, recorded: dict | None = None) -> dict:
    """The templates to ask for in the mini-program, each with the categories it carries and the
    resident's unspent consents; `recorded`, what the last request recorded."""
    have = unspent(resident)
    return {
        "templates": [
            {"template_id": t, "categories": categories, "unspent": have.get(t, 0)}
            for t, categories in known_templates().items()
        ],
        "recorded": recorded or {},
    }
