"""Writes of contribution schemes (居民出资方案): propose and amend a draft, link the owners'
decision that adopts it, adopt it (each household's amount frozen), cancel it, and the
households' pledges (承诺出资 / 暂不出资).

A household's amount is `floor_area × rate_fen` rounded half up to the fen (`floor_area`
basis) or `rate_fen` (`household` basis), computed with Decimal, never float. The functions
flush and never commit: the caller's request commits once.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import insert, select

from api.core import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    db,
    dialect_insert,
    emit,
    local_today,
    provided,
    utcnow,
)
from participation.models import (
    Building,
    ContributionDue,
    ContributionPledge,
    ContributionScheme,
    FundingLine,
    Household,
    HouseholdClaim,
    Project,
    Resident,
    Staff,
    project_estates,
)
from participation.policy import covers_community
from participation.queries import current_plan

MAX_RATE_FEN = 10_000_000  # 100,000 元 per m² or per household: far beyond any real scheme
MAX_BUILDINGS = 500
PLEDGING_RELATIONS = ("owner", "family")


class SchemeNotFound(NotFound):
    """A scheme that does not exist, or whose project the caller may not know of."""

    code = "scheme_not_found"
    message = "找不到该出资方案"


class HouseholdNotInScheme(NotFound):
    code = "household_not_found"
    message = "该房屋不在此出资方案范围内"


# --- amounts ---------------------------------------------------------------------------------


def amount_fen(basis: str, rate_fen: int, floor_area: Decimal | None) -> int:
    """A household's amount in fen: the area (m², two decimals) times the rate (fen per m²)
    rounded half up to the fen, or the rate itself per household. Exact: Decimal, never float."""
    if basis == "household":
        return rate_fen
    area = Decimal(floor_area or 0)
    return int((area * rate_fen).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def covered_households(scheme: ContributionScheme):
    """SELECT of the households the scheme covers (the project's estates, or its buildings
    only), their id, estate, building and area, in id order."""
    statement = (
        select(Household.id, Household.estate_id, Household.building_id, Household.floor_area)
        .join(project_estates, project_estates.c.estate_id == Household.estate_id)
        .where(project_estates.c.project_id == scheme.project_id)
        .order_by(Household.id)
    )
    if scheme.building_ids:
        statement = statement.where(Household.building_id.in_(scheme.building_ids))
    return statement


def frozen(scheme: ContributionScheme) -> bool:
    """The scheme's amounts were frozen (it was adopted, and perhaps cancelled since)."""
    return scheme.adopted_at is not None


# --- proposing and amending a draft ----------------------------------------------------------


def _check_references(project: Project, values: dict) -> None:
    """The plan item, buildings and funding line named belong to the project (422 otherwise);
    the due date is not past."""
    problems = {}
    plan_item_id = values.get("plan_item_id")
    if plan_item_id is not None:
        plan = current_plan(project.id)
        if plan is None or plan_item_id not in {item.id for item in plan.items}:
            problems["plan_item_id"] = ["不是本项目当前方案中的项目内容"]
    building_ids = values.get("building_ids")
    if building_ids:
        estate_ids = [estate.id for estate in project.estates]
        found = set(
            db.session.scalars(
                select(Building.id).where(
                    Building.id.in_(building_ids), Building.estate_id.in_(estate_ids)
                )
            )
        )
        if found != set(building_ids):
            problems["building_ids"] = ["包含不属于本项目小区的楼栋"]
    funding_line_id = values.get("funding_line_id")
    if funding_line_id is not None:
        line = db.session.get(FundingLine, funding_line_id)
        if line is None or line.project_id != project.id:
            problems["funding_line_id"] = ["不是本项目的资金来源"]
    due_on = values.get("due_on")
    if due_on is not None and due_on < local_today():
        problems["due_on"] = ["缴款截止日期不能早于今天"]
    if problems:
        raise InvalidInput("出资方案的内容有误", code="scheme_invalid", details=problems)


def create(project: Project, staff: Staff, values: dict) -> ContributionScheme:
    """A draft scheme of the project; the references it names are the project's own."""
    values = {**values, "building_ids": sorted(set(values.get("building_ids") or []))}
    _check_references(project, values)
    scheme = ContributionScheme(
        project_id=project.id, created_by_id=staff.id, terms_at=utcnow(), **values
    )
    db.session.add(scheme)
    db.session.flush()
    return scheme


def require_draft(scheme: ContributionScheme) -> None:
    if scheme.status != "draft":
        raise Conflict(
            "只有草案状态的出资方案可以修改",
            code="scheme_not_draft",
            details={"status": scheme.status},
        )


# What the owners decide on: a change to any of these after the adopting decision was drawn up
# needs a new decision (`adoption_refusal`, reason `terms_changed`).
TERMS = ("basis", "rate_fen", "plan_item_id", "building_ids", "funding_line_id", "due_on", "matter")


def patch(scheme: ContributionScheme, project: Project, values: dict) -> ContributionScheme:
    """Amend a draft (409 `scheme_not_draft` otherwise). Once its linked owners' decision has
    opened, the terms the owners vote on stay as they are (409 `scheme_under_decision`); a
    change of terms before that moves `terms_at`, so only a decision drawn up after the change
    can adopt the scheme."""
    require_draft(scheme)
    if "building_ids" in values:
        values = {**values, "building_ids": sorted(set(values["building_ids"] or []))}
    _check_references(project, values)
    changed = [name for name in TERMS if name in values and values[name] != getattr(scheme, name)]
    if changed:
        outcome = decision_outcome(scheme.decision_id)
        if outcome is not None and outcome.status != "draft":
            raise Conflict(
                "业主共同决定已开始表决，出资方案的条款不能再修改；如需修改，请取消本方案后重新拟定",
                code="scheme_under_decision",
                details={"consultation_id": outcome.consultation_id, "fields": changed},
            )
        scheme.terms_at = utcnow()
    for name, value in values.items():
        setattr(scheme, name, value)
    db.session.flush()
    return scheme


# --- the owners' decision and the adoption ---------------------------------------------------


def decision_outcome(consultation_id: int | None):
    """What the owners' decision decided (voting's answer), or None."""
    if consultation_id is None:
        return None
    return provided("decision_outcome")(consultation_id)


def link_decision(scheme: ContributionScheme, consultation_id: int) -> ContributionScheme:
    """Name the owners' decision that is to adopt the draft: an owners' decision of the same
    project on the scheme's matter. A consultation of another project answers as a missing
    one (404), so that ids do not leak."""
    require_draft(scheme)
    outcome = decision_outcome(consultation_id)
    if outcome is None or outcome.project_id != scheme.project_id:
        raise NotFound("找不到该征询", code="consultation_not_found")
    if outcome.matter is None:
        raise InvalidInput(
            "只能关联业主共同决定（业主表决）",
            code="not_an_owners_decision",
            details={"consultation_id": ["不是业主共同决定"]},
        )
    if outcome.matter != scheme.matter:
        raise InvalidInput(
            "业主共同决定的表决事项与出资方案不一致",
            code="decision_matter_mismatch",
            details={"matter": outcome.matter, "scheme_matter": scheme.matter},
        )
    adopted = _adopted_by(consultation_id, scheme.id)
    if adopted is not None:
        raise Conflict(
            "该业主共同决定已用于通过另一个出资方案",
            code="decision_already_used",
            details={"consultation_id": consultation_id, "scheme_id": adopted},
        )
    scheme.decision_id = consultation_id
    db.session.flush()
    return scheme


def _adopted_by(consultation_id: int, other_than: int) -> int | None:
    """The scheme (not `other_than`) this decision already adopted, if any: one owners'
    decision adopts one scheme (also a unique index on the adopted schemes' decision)."""
    return db.session.scalar(
        select(ContributionScheme.id).where(
            ContributionScheme.decision_id == consultation_id,
            ContributionScheme.adopted_at.is_not(None),
            ContributionScheme.id != other_than,
        )
    )


def covered_estate_ids(scheme: ContributionScheme) -> set[int]:
    """The estates in which the scheme's households lie."""
    rows = covered_households(scheme).with_only_columns(Household.estate_id).distinct()
    return set(db.session.scalars(rows.order_by(None)))


def adoption_refusal(scheme: ContributionScheme, project: Project) -> dict | None:
    """Why the linked decision does not adopt the scheme (the details of 409
    `decision_not_passed`), or None when it does: it must be of its project, on the scheme's
    matter, not have adopted another scheme, have been drawn up after the scheme's terms were
    last set (the owners voted on these terms), be final, and have passed in every estate the
    scheme's households lie in (each estate decides on its own); a scheme covering all the
    project's estates needs the decision passed."""
    outcome = decision_outcome(scheme.decision_id)
    if outcome is None:
        return {"reason": "not_linked", "reason_label": "尚未关联业主共同决定"}
    decision = {"consultation_id": outcome.consultation_id, "status": outcome.status}
    if outcome.project_id != scheme.project_id:
        return {**decision, "reason": "wrong_project", "reason_label": "业主共同决定不属于本项目"}
    if outcome.matter != scheme.matter:
        return {
            **decision,
            "reason": "wrong_matter",
            "reason_label": "业主共同决定的表决事项与出资方案不一致",
            "matter": outcome.matter,
            "scheme_matter": scheme.matter,
        }
    adopted = _adopted_by(outcome.consultation_id, scheme.id)
    if adopted is not None:
        return {
            **decision,
            "reason": "decision_already_used",
            "reason_label": "该业主共同决定已用于通过另一个出资方案",
            "scheme_id": adopted,
        }
    if outcome.created_at is None or outcome.created_at < scheme.terms_at:
        return {
            **decision,
            "reason": "terms_changed",
            "reason_label": "业主共同决定拟定后出资方案的条款有过修改，须重新表决",
        }
    if not outcome.final:
        return {**decision, "reason": "not_final", "reason_label": "业主共同决定尚未结束计票"}
    covered = covered_estate_ids(scheme)
    failed = sorted(covered - outcome.passed_estate_ids)
    every_estate = covered == {estate.id for estate in project.estates}
    if failed or (every_estate and not outcome.passed):
        return {
            **decision,
            "reason": "failed",
            "reason_label": "业主共同决定未获通过",
            "failed_estate_ids": failed,
        }
    return None


def lock(scheme_id: int) -> ContributionScheme:
    """The scheme, its row locked until the commit (SELECT … FOR UPDATE): an adoption, a
    cancellation and a link cannot interleave."""
    scheme = db.session.scalars(
        select(ContributionScheme)
        .where(ContributionScheme.id == scheme_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if scheme is None:
        raise SchemeNotFound()
    return scheme


def adopt(scheme_id: int, project: Project) -> ContributionScheme:
    """Adopt the draft by its passed owners' decision (409 `decision_not_passed` with why
    otherwise) and freeze each household's amount with the area it was computed from: one
    multi-row INSERT, so ten thousand households adopt in a moment. Emits `scheme_adopted`
    (its households are told)."""
    scheme = lock(scheme_id)
    require_draft(scheme)
    refusal = adoption_refusal(scheme, project)
    if refusal is not None:
        raise Conflict(
            "业主共同决定尚未通过，出资方案不能生效", code="decision_not_passed", details=refusal
        )
    rows = [
        {
            "scheme_id": scheme.id,
            "household_id": household_id,
            "estate_id": estate_id,
            "building_id": building_id,
            "floor_area": area,
            "amount_fen": amount_fen(scheme.basis, scheme.rate_fen, area),
        }
        for household_id, estate_id, building_id, area in db.session.execute(
            covered_households(scheme)
        )
    ]
    if not rows:
        raise Conflict("出资方案范围内没有房屋", code="scheme_has_no_households")
    db.session.execute(insert(ContributionDue), rows)
    scheme.status = "adopted"
    scheme.adopted_at = utcnow()
    db.session.flush()
    emit(
        "scheme_adopted",
        scheme_id=scheme.id,
        project_id=scheme.project_id,
        title=scheme.title,
        basis=scheme.basis,
        rate_fen=scheme.rate_fen,
        due_on=scheme.due_on,
    )
    return scheme


def cancel(scheme_id: int, reason: str) -> ContributionScheme:
    """Cancel a draft or an adopted scheme (409 `scheme_cancelled` when it already is). What
    was paid is refunded by entries (`participation.service.payments`). An adopted scheme's
    cancellation emits `scheme_cancelled` (its households are told)."""
    scheme = lock(scheme_id)
    if scheme.status == "cancelled":
        raise Conflict("出资方案已取消", code="scheme_cancelled")
    was_adopted = scheme.status == "adopted"
    scheme.status = "cancelled"
    scheme.cancelled_at = utcnow()
    scheme.cancel_reason = reason
    db.session.flush()
    if was_adopted:
        emit(
            "scheme_cancelled",
            scheme_id=scheme.id,
            project_id=scheme.project_id,
            title=scheme.title,
            reason=reason,
        )
    return scheme


# --- pledges -----------------------------------------------------------------------------------


def require_may_pledge(caller: Resident | Staff, household: Household) -> None:
    """A verified owner or family member of the household (a tenant pays no owners'
    contribution: 403 `tenant_cannot_pledge`), or staff covering its community (a committee
    clerk at the desk, its county, the prefecture)."""
    if isinstance(caller, Staff):
        if not covers_community(caller, household.estate.community):
            raise Forbidden("您没有该社区的管理权限", code="out_of_scope")
        return
    relations = set(
        db.session.scalars(
            select(HouseholdClaim.relation).where(
                HouseholdClaim.resident_id == caller.id,
                HouseholdClaim.household_id == household.id,
                HouseholdClaim.status == "verified",
            )
        )
    )
    if not relations:
        raise Forbidden("您不是该房屋的已认证住户", code="not_household_member")
    if not relations & set(PLEDGING_RELATIONS):
        raise Forbidden(
            "租户不能代表房屋承诺出资，请由业主或家庭成员办理", code="tenant_cannot_pledge"
        )


def require_adopted(scheme: ContributionScheme) -> None:
    if scheme.status != "adopted":
        raise Conflict(
            "出资方案尚未经业主共同决定通过（或已取消），暂不能承诺或缴款",
            code="scheme_not_adopted",
            details={"status": scheme.status},
        )


def hold_status(scheme: ContributionScheme) -> None:
    """Re-read the scheme's status under a share lock held until the transaction ends: a
    cancellation (or an adoption), which locks the row for update, waits for this write, or
    this write sees it; no pledge or payment lands on a scheme cancelled meanwhile."""
    db.session.scalars(
        select(ContributionScheme)
        .where(ContributionScheme.id == scheme.id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).one()


def pledge(
    scheme: ContributionScheme, household: Household, caller: Resident | Staff, values: dict
) -> ContributionPledge:
    """The household's answer (the latest stands): an upsert, so two submissions at once
    leave one row. Only on an adopted scheme (409 `scheme_not_adopted`) and a household it
    covers (404); pledging after the due date is still allowed (money late is still money).
    The database refuses a pledge without a frozen amount even if this check were skipped."""
    hold_status(scheme)
    require_adopted(scheme)
    due = db.session.get(ContributionDue, (scheme.id, household.id))
    if due is None:
        raise HouseholdNotInScheme()
    choice = values["choice"]
    reason = values.get("reason")
    if choice == "declined" and not reason:
        raise InvalidInput(
            "暂不出资请说明原因", code="reason_required", details={"reason": ["暂不出资须填写原因"]}
        )
    now = utcnow()
    written = {
        "choice": choice,
        "reason": reason,
        "resident_id": caller.id if isinstance(caller, Resident) else None,
        "staff_id": caller.id if isinstance(caller, Staff) else None,
        "updated_at": now,
    }
    statement = dialect_insert(ContributionPledge.__table__).values(
        scheme_id=scheme.id, household_id=household.id, created_at=now, **written
    )
    db.session.execute(
        statement.on_conflict_do_update(index_elements=["scheme_id", "household_id"], set_=written)
    )
    return db.session.scalars(
        select(ContributionPledge)
        .where(
            ContributionPledge.scheme_id == scheme.id,
            ContributionPledge.household_id == household.id,
        )
        .execution_options(populate_existing=True)
    ).one()
