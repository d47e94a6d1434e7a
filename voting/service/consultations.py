"""A consultation's life: prepared (a draft), opened (its electorate frozen), closed.

Functions flush, never commit; the caller commits once and the tally is requested after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

from flask import current_app
from sqlalchemy import func, insert, literal, select, text

from api.core import Conflict, InvalidInput, db, labels, utcnow
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
    MATTERS,
    Ballot,
    Consultation,
    ElectorateEntry,
    ElectorMember,
    Tally,
    rule_of,
)

ART_278_QUORUM = Fraction(2, 3)  # Civil Code art. 278: 2/3 of the area and of the owners take part
POLICY_THRESHOLD = Fraction(9, 10)
# The participation a plan satisfaction consultation needs at least: a setting may raise it,
# never lower it (without a floor, one satisfied household of a hundred voting would pass).
POLICY_QUORUM = Fraction(2, 3)


def as_fraction(value: float | str) -> Fraction:
    """0.9 → 9/10, 0.6667 → 2/3: thresholds are kept exact."""
    return Fraction(str(value)).limit_denominator(1000)


def min_open_period() -> timedelta:
    """The shortest a plan satisfaction consultation stays open (`GATE_MIN_OPEN_DAYS`)."""
    return timedelta(days=current_app.config["GATE_MIN_OPEN_DAYS"])


def earliest_close_at(consultation: Consultation, now: datetime | None = None) -> datetime | None:
    """When a plan satisfaction consultation may first be closed early (unless every eligible
    household has voted): its opening plus the minimum period; for a draft, its opening time
    (or now, if that has passed) plus the minimum. None for the other kinds."""
    if consultation.kind != "plan_satisfaction":
        return None
    now = now or utcnow()
    start = consultation.opened_at or max(consultation.opens_at or now, now)
    return start + min_open_period()


def _matter_and_rule(kind: str, matter: str | None) -> tuple[str | None, str | None]:
    """An owners' decision names its art. 278 matter, and the matter decides the rule."""
    if kind == "owners_decision":
        if matter is None:
            raise InvalidInput(
                "业主共同决定须写明所议事项（《民法典》第二百七十八条所列事项之一），表决规则由事项决定",
                code="matter_required",
                details={"matters": list(MATTERS)},
            )
        return matter, rule_of(matter)
    if matter is not None:
        raise InvalidInput("只有业主共同决定需要写明所议事项", code="matter_not_applicable")
    return None, None


def require_plan_revised(project_id: int, plan: Plan) -> None:
    """409 `plan_unchanged` unless `plan` is newer than every plan already put to a closed
    plan satisfaction consultation of the project: a plan is consulted once; after a failed
    gate it must be revised (a new version) before residents are asked again."""
    consulted = db.session.execute(
        select(Consultation.id, Plan.version)
        .join(Plan, Plan.id == Consultation.plan_id)
        .where(
            Consultation.project_id == project_id,
            Consultation.kind == "plan_satisfaction",
            Consultation.status == "closed",
            Plan.version >= plan.version,
        )
        .order_by(Plan.version.desc(), Consultation.id.desc())
        .limit(1)
    ).first()
    if consulted is not None:
        raise Conflict(
            "该方案版本已征询过居民意见；上次征询未通过的方案须修改后（新的方案版本）才能再次征询",
            code="plan_unchanged",
            details={"consultation_id": consulted.id, "plan_version": consulted.version},
        )


def create_consultation(project: Project, staff: Staff, args: dict) -> Consultation:
    """A draft consultation of the project, checked against the policy's floors (a 90%
    satisfaction threshold and a 2/3 participation for the plan's satisfaction, art. 278's 2/3
    participation, a minimum voting period) and on a plan not yet consulted; an owners' decision
    takes its rule from its matter. The prefecture's `GATE_BASIS` is frozen into it. It opens
    with `open_consultation`."""
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
    if kind == "plan_satisfaction" and closes_at is not None:
        earliest = max(now, opens_at or now) + min_open_period()
        if closes_at < earliest:
            # The residents are promised a minimum time to vote (and to be visited).
            raise InvalidInput(
                f"满意度征询至少须进行{min_open_period().days}天，截止时间不能早于开始后"
                f"{min_open_period().days}天",
                code="closes_too_soon",
                details={"earliest_closes_at": earliest.isoformat()},
            )
    matter, rule = _matter_and_rule(kind, args.get("matter"))
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
    if kind == "plan_satisfaction" and quorum < POLICY_QUORUM:
        raise InvalidInput(
            "满意度征询须有三分之二以上的住户参与，参与率要求可以提高，不能低于2/3",
            code="quorum_below_policy",
            details={"minimum": "2/3"},
        )
    if kind == "owners_decision" and quorum < ART_278_QUORUM:
        # Civil Code art. 278 fixes the participation: a setting may raise it, never lower it.
        raise InvalidInput(
            "业主共同决定须由专有部分面积和人数均占三分之二以上的业主参与表决，参与率要求不能低于2/3",
            code="quorum_below_law",
            details={"minimum": "2/3"},
        )
    if kind == "plan_satisfaction":
        require_plan_revised(project.id, plan)
    consultation = Consultation(
        project_id=project.id,
        plan_id=plan.id if plan else None,
        kind=kind,
        title=args.get("title") or f"{project.name}{labels.CONSULTATION_KINDS[kind]}"[:200],
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
        matter=matter,
        gate_basis=current_app.config["GATE_BASIS"],
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


def advisory_lock(consultation_id: int, *, shared: bool) -> None:
    """Take the consultation's advisory lock for this transaction (PostgreSQL; see `lock`)."""
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
    advisory_lock(consultation_id, shared=shared)
    return db.session.scalar(
        select(Consultation)
        .where(Consultation.id == consultation_id)
        .with_for_update(read=shared)
        .execution_options(populate_existing=True)
    )


def open_consultation(consultation: Consultation, now: datetime | None = None) -> Consultation:
    """Open now: freeze the electorate (households, floor areas, verified members).

    A plan satisfaction consultation opens only on a plan not yet consulted (409
    `plan_unchanged`), and stays open at least the minimum period (`GATE_MIN_OPEN_DAYS`): a
    draft opened late (by a clerk, or by the scheduler after its opening time) whose `closes_at`
    is sooner than now plus that period has its `closes_at` pushed to now plus the period, since
    the promised minimum wins over a stale date. A `closes_at` already past is still refused
    (409 `closes_at_passed`): the clerk sets a new date.
    """
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
        require_plan_revised(project.id, db.session.get(Plan, consultation.plan_id))
        earliest = now + min_open_period()
        if consultation.closes_at is not None and consultation.closes_at < earliest:
            consultation.closes_at = earliest
    estate_ids = select(project_estates.c.estate_id).where(
        project_estates.c.project_id == project.id
    )
    verified = (
        select(HouseholdClaim.household_id, func.count().label("members"))
        .where(HouseholdClaim.status == "verified")
        .group_by(HouseholdClaim.household_id)
        .subquery()
    )
    # One owner of several units in an estate (the roster's same name and phone digits) is one
    # person in an owners' decision's headcount: the key is the lowest such household id.
    owner_key = func.min(Household.id).over(
        partition_by=(Household.estate_id, Household.owner_name, Household.owner_phone_last4)
    )
    db.session.execute(
        insert(ElectorateEntry).from_select(
            ["consultation_id", "household_id", "estate_id", "floor_area", "members", "owner_key"],
            select(
                literal(consultation.id),
                Household.id,
                Household.estate_id,
                Household.floor_area,
                func.coalesce(verified.c.members, 0),
                owner_key,
            )
            .select_from(Household)
            .outerjoin(verified, verified.c.household_id == Household.id)
            .where(Household.estate_id.in_(estate_ids)),
        )
    )
    db.session.execute(
        insert(ElectorMember).from_select(
            ["consultation_id", "resident_id", "household_id", "relation"],
            select(
                literal(consultation.id),
                HouseholdClaim.resident_id,
                Household.id,
                HouseholdClaim.relation,
            )
            .join(Household, Household.id == HouseholdClaim.household_id)
            .where(HouseholdClaim.status == "verified", Household.estate_id.in_(estate_ids))
            # A membership ending now (a leave, a revocation, an erasure: each locks the claim
            # before it takes the resident out of the electorates not yet closed) is waited for
            # and then read as ended; a later one finds these rows committed and deletes them.
            # Without the lock the opening would read the claim still verified while the ending
            # could not see these rows: the resident would stay, and vote.
            .with_for_update(read=True, of=HouseholdClaim),
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
    """Close now (or record the close that its close time already made).

    A plan satisfaction consultation is not closed before its opening plus the minimum period
    (409 `too_early_to_close`, with the earliest close time) unless every eligible household
    has voted. The close its own `closes_at` makes is never refused: that time is never sooner
    than the minimum (`create_consultation`, `open_consultation`).
    """
    now = now or utcnow()
    if consultation.status == "draft":
        raise Conflict("表决尚未开始", code="consultation_not_open")
    if consultation.status == "closed":
        raise Conflict("表决已结束", code="ballot_closed")
    earliest = earliest_close_at(consultation, now)
    if earliest is not None and now < earliest and not consultation.is_due_to_close(now):
        voted = db.session.scalar(
            select(func.count()).where(Ballot.consultation_id == consultation.id)
        )
        if voted < consultation.eligible_households:
            raise Conflict(
                f"满意度征询至少须进行{min_open_period().days}天，"
                "全部住户都已投票的除外；现在还不能结束",
                code="too_early_to_close",
                details={
                    "earliest_close_at": earliest.isoformat(),
                    "voted": voted,
                    "eligible": consultation.eligible_households,
                },
            )
    consultation.status = "closed"
    due = consultation.closes_at
    consultation.closed_at = due if due is not None and due <= now else now
    db.session.flush()
    return consultation
