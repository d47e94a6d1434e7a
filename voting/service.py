"""Consultations and ballots: opening (freezing the electorate), voting, closing.

Functions flush, never commit; the caller commits once and the tally is requested after it.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from fractions import Fraction

from sqlalchemy import and_, bindparam, delete, func, insert, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite

from api.core import Conflict, DomainError, Forbidden, InvalidInput, NotFound, db, utcnow
from participation.models import (
    PLAN_ITEM_CATEGORIES,
    Household,
    HouseholdClaim,
    Plan,
    Project,
    Staff,
    project_estates,
)
from voting.models import (
    CHOICES,
    Ballot,
    BallotChange,
    BallotPick,
    Consultation,
    ElectorateEntry,
    ElectorMember,
    Tally,
)

RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
ART_278_QUORUM = Fraction(2, 3)  # Civil Code art. 278: 2/3 of the area and of the owners take part
KIND_TITLES = {
    "plan_satisfaction": "改造方案满意度征询",
    "needs_survey": "改造需求调查",
    "owners_decision": "业主共同决定表决",
}


class BallotClosed(Conflict):
    code = "ballot_closed"
    message = "表决已结束"


class NotOpenYet(Conflict):
    code = "consultation_not_open"
    message = "表决尚未开始"


class NotEligible(DomainError):
    status = 403
    code = "not_eligible"
    message = "您不在本次表决的户籍名单中"


POLICY_THRESHOLD = Fraction(9, 10)


def as_fraction(value: float | str) -> Fraction:
    """0.9 → 9/10, 0.6667 → 2/3: thresholds are kept exact."""
    return Fraction(str(value)).limit_denominator(1000)


# --- consultations ----------------------------------------------------------------------------


def create_consultation(project: Project, staff: Staff, args: dict) -> Consultation:
    kind = args["kind"]
    plan = None
    if kind == "plan_satisfaction":
        plan_id = args.get("plan_id") or (project.current_plan.id if project.current_plan else None)
        plan = db.session.get(Plan, plan_id) if plan_id else None
        if plan is None or plan.project_id != project.id:
            raise InvalidInput(
                "请指定本项目的一个方案版本", code="plan_required", details={"plan_id": plan_id}
            )
    elif args.get("plan_id") is not None:
        plan = db.session.get(Plan, args["plan_id"])
        if plan is None or plan.project_id != project.id:
            raise InvalidInput("方案不属于本项目", code="plan_not_in_project")
    now = utcnow()
    opens_at, closes_at = args.get("opens_at"), args.get("closes_at")
    if closes_at is not None and closes_at <= max(now, opens_at or now):
        raise InvalidInput("截止时间须晚于开始时间和当前时间", code="closes_before_opens")
    if kind == "owners_decision":
        rule = args.get("rule") or "majority"
    elif args.get("rule"):
        raise InvalidInput("只有业主共同决定需要表决规则", code="rule_not_applicable")
    else:
        rule = None
    options = args.get("options")
    if kind == "needs_survey":
        options = options or list(PLAN_ITEM_CATEGORIES)
    elif options:
        raise InvalidInput("只有需求调查可以设置候选项", code="options_not_applicable")
    threshold = as_fraction(args.get("threshold", "0.9"))
    quorum = as_fraction(args["quorum"]) if "quorum" in args else Fraction(2, 3)
    if not (0 < threshold <= 1) or not (0 <= quorum <= 1):
        raise InvalidInput("阈值须在0到1之间", code="threshold_out_of_range")
    if kind == "plan_satisfaction" and threshold < POLICY_THRESHOLD:
        # The prefecture's guidance: a plan starts only when 90% or more are satisfied.
        raise InvalidInput(
            "政策要求居民满意度达到90%以上方可实施，满意度门槛不能低于90%",
            code="threshold_below_policy",
            details={"minimum": "9/10"},
        )
    if kind == "owners_decision" and quorum < ART_278_QUORUM:
        # Civil Code art. 278 fixes the participation: a setting may raise it, never lower it.
        raise InvalidInput(
            "业主共同决定须由专有部分面积和人数均占三分之二以上的业主参与表决，参与率要求不能低于2/3",
            code="quorum_below_law",
            details={"minimum": "2/3"},
        )
    consultation = Consultation(
        project_id=project.id,
        plan_id=plan.id if plan else None,
        kind=kind,
        title=args.get("title") or f"{project.name}{KIND_TITLES[kind]}"[:200],
        description=args.get("description"),
        status="draft",
        opens_at=opens_at,
        closes_at=closes_at,
        threshold_num=threshold.numerator,
        threshold_den=threshold.denominator,
        quorum_num=quorum.numerator,
        quorum_den=quorum.denominator,
        basis=args.get("basis") or "households",
        rule=rule,
        options=options or [],
        created_by_id=staff.id,
        created_at=now,
    )
    db.session.add(consultation)
    db.session.flush()
    return consultation


# The consultations' advisory locks: first key 0x766F7465 ("vote"), second the consultation id.
_ADVISORY_LOCKS = {
    True: text("SELECT pg_advisory_xact_lock_shared(1987015781, CAST(:id AS integer))"),
    False: text("SELECT pg_advisory_xact_lock(1987015781, CAST(:id AS integer))"),
}


def _advisory_lock(consultation_id: int, *, shared: bool) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_ADVISORY_LOCKS[shared], {"id": consultation_id})


def lock(consultation_id: int, *, shared: bool) -> Consultation | None:
    """Load a consultation locked: shared by ballots, exclusive by open and close.

    On PostgreSQL this orders ballots against the close: a ballot that holds the shared lock
    commits before the close, and no ballot commits after it. (SQLite serialises writers.)

    The row lock alone would let the close starve: PostgreSQL does not queue a share lock on a
    row behind a waiting FOR UPDATE, so while ballots keep coming, some ballot always holds the
    row and the clerk's close waits until the voting stops, accepting ballots meanwhile. So a
    transaction-level advisory lock on the consultation is taken first: those are queued
    fairly, and ballots that come after a waiting close wait behind it (then see it closed).
    """
    _advisory_lock(consultation_id, shared=shared)
    return db.session.scalar(
        select(Consultation)
        .where(Consultation.id == consultation_id)
        .with_for_update(read=shared)
        .execution_options(populate_existing=True)
    )


def open_consultation(consultation: Consultation, now: datetime | None = None) -> Consultation:
    """Open now: freeze the electorate (households, floor areas, verified members)."""
    now = now or utcnow()
    if consultation.status != "draft":
        raise Conflict(
            "表决已经开始或已结束",
            code="consultation_not_draft",
            details={"status": consultation.status},
        )
    if consultation.closes_at is not None and consultation.closes_at <= now:
        raise Conflict("截止时间已过，不能开始", code="closes_at_passed")
    project = db.session.get(Project, consultation.project_id)
    if consultation.kind == "plan_satisfaction":
        other = db.session.scalar(
            select(Consultation.id).where(
                Consultation.project_id == project.id,
                Consultation.kind == "plan_satisfaction",
                Consultation.status == "open",
            )
        )
        if other is not None:
            raise Conflict(
                "本项目已有进行中的满意度征询",
                code="consultation_already_open",
                details={"consultation_id": other},
            )
    estate_ids = select(project_estates.c.estate_id).where(
        project_estates.c.project_id == project.id
    )
    verified = (
        select(HouseholdClaim.household_id, func.count().label("members"))
        .where(HouseholdClaim.status == "verified")
        .group_by(HouseholdClaim.household_id)
        .subquery()
    )
    db.session.execute(
        insert(ElectorateEntry).from_select(
            ["consultation_id", "household_id", "estate_id", "floor_area", "members"],
            select(
                literal(consultation.id),
                Household.id,
                Household.estate_id,
                Household.floor_area,
                func.coalesce(verified.c.members, 0),
            )
            .select_from(Household)
            .outerjoin(verified, verified.c.household_id == Household.id)
            .where(Household.estate_id.in_(estate_ids)),
        )
    )
    db.session.execute(
        insert(ElectorMember).from_select(
            ["consultation_id", "resident_id", "household_id"],
            select(literal(consultation.id), HouseholdClaim.resident_id, Household.id)
            .join(Household, Household.id == HouseholdClaim.household_id)
            .where(HouseholdClaim.status == "verified", Household.estate_id.in_(estate_ids)),
        )
    )
    households, persons, area = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(ElectorateEntry.members), 0),
            func.coalesce(func.sum(ElectorateEntry.floor_area), 0),
        ).where(ElectorateEntry.consultation_id == consultation.id)
    ).one()
    if households == 0:
        raise Conflict("项目所涉小区还没有住户花名册，不能开始表决", code="electorate_empty")
    consultation.eligible_households = households
    consultation.eligible_persons = int(persons)
    consultation.eligible_area = area
    consultation.status, consultation.opened_at = "open", now
    if consultation.opens_at is None or consultation.opens_at > now:
        consultation.opens_at = now
    db.session.add(Tally(consultation_id=consultation.id, changes_seen=0, computed_at=None))
    if consultation.plan_id:
        plan = db.session.get(Plan, consultation.plan_id)
        plan.put_to_residents_at = plan.put_to_residents_at or now
    if (
        consultation.kind == "plan_satisfaction"
        and project.current_plan is not None
        and (consultation.plan_id == project.current_plan.id)
    ):
        project.gate_consultation_id = consultation.id
        project.gate_passed, project.gate_final = False, False
        project.plan_satisfaction_rate = project.participation_rate = None
        project.gate_computed_at = None
    db.session.flush()
    return consultation


def close_consultation(consultation: Consultation, now: datetime | None = None) -> Consultation:
    """Close now (or record the close that its close time already made)."""
    now = now or utcnow()
    if consultation.status == "draft":
        raise Conflict("表决尚未开始", code="consultation_not_open")
    if consultation.status == "closed":
        raise Conflict("表决已结束", code="ballot_closed")
    consultation.status = "closed"
    due = consultation.closes_at
    consultation.closed_at = due if due is not None and due <= now else now
    db.session.flush()
    return consultation


# --- ballots ----------------------------------------------------------------------------------


def eligibility(consultation: Consultation, resident_id: int) -> dict:
    """Whether the resident may vote here, for which households, and if not, why."""
    households = list(
        db.session.scalars(
            select(ElectorMember.household_id)
            .where(
                ElectorMember.consultation_id == consultation.id,
                ElectorMember.resident_id == resident_id,
            )
            .order_by(ElectorMember.household_id)
        )
    )
    if households:
        return {"eligible": True, "reason": None, "households": households}
    if consultation.status == "draft":
        return {"eligible": False, "reason": "consultation_not_open", "households": []}
    project_estate_ids = select(project_estates.c.estate_id).where(
        project_estates.c.project_id == consultation.project_id
    )
    statuses = set(
        db.session.scalars(
            select(HouseholdClaim.status)
            .join(Household, Household.id == HouseholdClaim.household_id)
            .where(
                HouseholdClaim.resident_id == resident_id,
                Household.estate_id.in_(project_estate_ids),
            )
        )
    )
    if "verified" in statuses:
        reason = "joined_after_opening"
    elif "pending" in statuses:
        reason = "not_verified"
    else:
        reason = "other_estate"
    return {"eligible": False, "reason": reason, "households": []}


NOT_ELIGIBLE_MESSAGES = {
    "joined_after_opening": "您在表决开始后才完成住户认证，不能参加本次表决",
    "not_verified": "您的住户认证尚未通过，通过后才能参加表决",
    "other_estate": "您不是本项目所涉小区的已认证住户",
    "consultation_not_open": "表决尚未开始",
}


def _check_open(consultation: Consultation, now: datetime) -> None:
    if consultation.status == "draft":
        raise NotOpenYet()
    if not consultation.accepts_ballots(now):
        raise BallotClosed()


def _check_choice(consultation: Consultation, args: dict) -> tuple[str, list[str] | None]:
    kind = consultation.kind
    if kind == "needs_survey":
        items = args.get("items")
        if not items:
            raise InvalidInput("请至少选择一项需求", code="items_required")
        unknown = sorted(set(items) - set(consultation.options))
        if unknown:
            raise InvalidInput(
                "所选项目不在候选项中", code="invalid_choice", details={"unknown_items": unknown}
            )
        return "picked", sorted(set(items))
    choice = args.get("choice")
    if choice not in CHOICES[kind]:
        raise InvalidInput(
            "选项无效", code="invalid_choice", details={"allowed": list(CHOICES[kind])}
        )
    if args.get("items"):
        raise InvalidInput("此表决不需要选择项目", code="items_not_applicable")
    return choice, None


def _check_opinions(consultation: Consultation, opinions: dict | None) -> dict | None:
    if not opinions:
        return None
    if consultation.kind != "plan_satisfaction":
        raise InvalidInput("只有方案满意度征询可以对方案条目提意见", code="opinions_not_applicable")
    plan = db.session.get(Plan, consultation.plan_id)
    known = {str(item.id) for item in plan.items}
    unknown = sorted(set(opinions) - known)
    if unknown:
        raise InvalidInput(
            "意见针对的方案条目不存在", code="unknown_plan_item", details={"plan_item_ids": unknown}
        )
    return opinions


def _new_receipt() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(10))


_UPSERTS: dict = {}  # dialect name -> the ballot upsert, built once


def _upsert_statement(dialect: str):
    """The upsert, without values: they are bound when it runs.

    Built once per dialect: building it (the `excluded` alias copies every column) cost more
    Python time than running it, on the busiest path of the product.
    """
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        table = Ballot.__table__
        stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        changing = (
            "choice",
            "item_opinions",
            "comment",
            "channel",
            "resident_id",
            "staff_id",
            "updated_at",
        )
        stmt = _UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=[table.c.consultation_id, table.c.household_id],
            set_={**{c: stmt.excluded[c] for c in changing}, "revision": table.c.revision + 1},
        ).returning(table.c.receipt, table.c.revision, table.c.updated_at, table.c.choice)
    return stmt


def _upsert(values: dict):
    """INSERT … ON CONFLICT (consultation, household) DO UPDATE: one statement, race-free."""
    stmt = _upsert_statement(db.session.get_bind().dialect.name)
    return db.session.execute(stmt, values).one()


# The audit row: a Core insert with its values bound when it runs (an ORM-enabled insert
# with `.values()` is rebuilt and goes through the ORM's bulk path on every ballot).
_AUDIT_INSERT = insert(BallotChange.__table__)


def _write_ballot(
    consultation,
    household_id,
    args,
    *,
    channel,
    resident_id=None,
    staff_id=None,
    evidence_url=None,
    assisted_by=None,
    weights=None,
):
    choice, picks = _check_choice(consultation, args)
    opinions = _check_opinions(consultation, args.get("item_opinions"))
    if weights is None:
        entry = db.session.get(ElectorateEntry, (consultation.id, household_id))
        weights = (entry.floor_area, entry.members)
    now = utcnow()
    row = _upsert(
        {
            "consultation_id": consultation.id,
            "household_id": household_id,
            "choice": choice,
            "item_opinions": opinions,
            "comment": args.get("comment"),
            "receipt": _new_receipt(),
            "channel": channel,
            "resident_id": resident_id,
            "staff_id": staff_id,
            "weight_area": weights[0],
            "weight_persons": weights[1],
            "revision": 1,
            "created_at": now,
            "updated_at": now,
        }
    )
    if picks is not None:
        db.session.execute(
            delete(BallotPick).where(
                BallotPick.consultation_id == consultation.id,
                BallotPick.household_id == household_id,
            )
        )
        db.session.execute(
            insert(BallotPick),
            [
                {"consultation_id": consultation.id, "household_id": household_id, "item": item}
                for item in picks
            ],
        )
    db.session.execute(
        _AUDIT_INSERT,
        {
            "consultation_id": consultation.id,
            "household_id": household_id,
            "revision": row.revision,
            "choice": choice,
            "picks": picks,
            "channel": channel,
            "resident_id": resident_id,
            "staff_id": staff_id,
            "evidence_url": evidence_url,
            "assisted_by": assisted_by,
            "at": now,
        },
    )
    return {
        "receipt": row.receipt,
        "choice": row.choice,
        "items": picks,
        "updated_at": row.updated_at,
        "revision": row.revision,
        "household_id": household_id,
    }


# The ballot's one read: the consultation (share-locked) with the caller's eligible households
# and their frozen weights, in a single statement.
_BALLOT_CONTEXT = (
    select(
        Consultation,
        ElectorMember.household_id,
        ElectorateEntry.floor_area,
        ElectorateEntry.members,
    )
    .outerjoin(
        ElectorMember,
        and_(
            ElectorMember.consultation_id == Consultation.id,
            ElectorMember.resident_id == bindparam("resident_id"),
        ),
    )
    .outerjoin(
        ElectorateEntry,
        and_(
            ElectorateEntry.consultation_id == ElectorMember.consultation_id,
            ElectorateEntry.household_id == ElectorMember.household_id,
        ),
    )
    .where(Consultation.id == bindparam("consultation_id"))
    .order_by(ElectorMember.household_id)
    .with_for_update(read=True, of=Consultation)
    .execution_options(populate_existing=True)
)


def cast_ballot(consultation_id: int, resident_id: int, args: dict) -> dict:
    """A verified member casts (or changes) their household's ballot.

    The hot path: the advisory lock, one read (consultation, eligibility, weights), the upsert
    and the audit row.
    """
    _advisory_lock(consultation_id, shared=True)
    rows = db.session.execute(
        _BALLOT_CONTEXT, {"consultation_id": consultation_id, "resident_id": resident_id}
    ).all()
    if not rows:
        raise NotFound("找不到该表决", code="consultation_not_found")
    consultation = rows[0][0]
    _check_open(consultation, utcnow())
    weights = {row[1]: (row[2], row[3]) for row in rows if row[1] is not None}
    if not weights:
        reason = eligibility(consultation, resident_id)["reason"]
        raise NotEligible(NOT_ELIGIBLE_MESSAGES[reason], details={"reason": reason})
    household_id = args.get("household_id")
    if household_id is None:
        if len(weights) > 1:
            raise InvalidInput(
                "您属于多个住户，请指定为哪一户投票",
                code="household_required",
                details={"households": sorted(weights)},
            )
        household_id = next(iter(weights))
    elif household_id not in weights:
        raise NotEligible("您不是该户的表决成员", details={"reason": "not_member_of_household"})
    return _write_ballot(
        consultation,
        household_id,
        args,
        channel="wechat",
        resident_id=resident_id,
        weights=weights[household_id],
    )


def record_paper_ballot(consultation: Consultation, staff: Staff, args: dict) -> dict:
    """A clerk records a paper or assisted ballot, with its evidence and their own identity."""
    consultation = lock(consultation.id, shared=True)
    _check_open(consultation, utcnow())
    household_id = args["household_id"]
    if db.session.get(ElectorateEntry, (consultation.id, household_id)) is None:
        raise NotEligible(
            "该户不在本次表决的名单中", details={"reason": "household_not_in_electorate"}
        )
    if args["channel"] == "assisted" and not args.get("assisted_by"):
        raise InvalidInput("代为填写的选票须注明协助人", code="assisted_by_required")
    return _write_ballot(
        consultation,
        household_id,
        args,
        channel=args["channel"],
        staff_id=staff.id,
        evidence_url=args["evidence_url"],
        assisted_by=args.get("assisted_by"),
    )


def household_ballot(consultation: Consultation, household_id: int) -> Ballot | None:
    return db.session.scalar(
        select(Ballot).where(
            Ballot.consultation_id == consultation.id, Ballot.household_id == household_id
        )
    )


def require_paper_scope(staff_communities: set[int] | None, household_id: int) -> None:
    """A committee clerk records paper ballots of their own community's households only."""
    if staff_communities is None:
        return
    household = db.session.get(Household, household_id)
    if household is None or household.estate.community_id not in staff_communities:
        raise Forbidden("该户不属于您管理的社区", code="out_of_scope")
