"""The demo's residents' contributions (居民出资, issue 15) on the building-site project: a
scheme by floor area adopted by an owners' decision the owners passed, households that pledged
or declined, payments recorded at the desk (one corrected), and the project's spending from its
government line. Everything goes through the services the API uses; nothing sets a status by
hand. `seed_contributions` is idempotent: it finds its scheme by title and stops there.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from api.core import db, local_today
from participation.models import (
    ContributionDue,
    ContributionScheme,
    FundingLine,
    Household,
    HouseholdClaim,
    Project,
    Resident,
    Staff,
)
from participation.service import contributions, expenses, payments
from voting.service import ballots, consultations
from voting.service.tally import recompute

SCHEME_TITLE = "加装电梯及屋面改造居民出资"
RATE_FEN = 1250  # 12.50 元/m²
DECLINE_REASONS = (
    "住一楼，用不上电梯",
    "家庭经济困难，申请缓交",
    "房屋出租中，需与业主商量",
)
EXPENSES = (
    (86_000_00, 40, "屋面防水材料及施工首期款"),
    (120_500_50, 20, "外墙保温工程进度款"),
)


def _owners(project: Project) -> list[tuple[int, int]]:
    """(household id, resident id) of each household of the project's estates with a verified
    owner (the first such owner), in household order."""
    estate_ids = [estate.id for estate in project.estates]
    rows = db.session.execute(
        select(HouseholdClaim.household_id, HouseholdClaim.resident_id)
        .join(Household, Household.id == HouseholdClaim.household_id)
        .where(
            Household.estate_id.in_(estate_ids),
            HouseholdClaim.status == "verified",
            HouseholdClaim.relation == "owner",
        )
        .order_by(HouseholdClaim.household_id, HouseholdClaim.id)
    ).all()
    owners: dict[int, int] = {}
    for household_id, resident_id in rows:
        owners.setdefault(household_id, resident_id)
    return list(owners.items())


def _residents_line(project: Project) -> FundingLine:
    """The project's `residents` funding line, added (to the amount below) if it has none."""
    line = db.session.scalar(
        select(FundingLine)
        .where(FundingLine.project_id == project.id, FundingLine.source == "residents")
        .order_by(FundingLine.id)
    )
    if line is None:
        line = FundingLine(
            project_id=project.id, source="residents", amount=Decimal("100000"), note="居民出资"
        )
        db.session.add(line)
        db.session.flush()
    return line


def _owners_decision(project: Project, clerk: Staff, owners: list[tuple[int, int]], rng):
    """An owners' decision on raising the maintenance fund that the owners pass (3/4 of the
    participating area and owners), opened by the committee and closed after the vote."""
    decision = consultations.create_consultation(
        project,
        clerk,
        {
            "kind": "owners_decision",
            "matter": "raise_maintenance_fund",
            "title": "关于筹集加装电梯及屋面改造资金的业主共同决定",
            "description": "按建筑面积每平方米12.50元筹集，用于加装电梯和屋面防水改造。",
        },
    )
    consultations.open_consultation(decision)
    for _, resident_id in owners[: int(len(owners) * 0.85)]:
        choice = "disagree" if rng.random() < 0.08 else "agree"
        ballots.cast_ballot(decision.id, resident_id, {"choice": choice})
    consultations.close_consultation(decision)
    recompute(decision.id)
    return decision


def seed_contributions(project: Project, clerk: Staff, owner: Staff) -> ContributionScheme:
    """The demo's contribution scheme of `project` (the building site), built once: found by
    its title when it exists. Flushes; the caller commits."""
    scheme = db.session.scalar(
        select(ContributionScheme).where(
            ContributionScheme.project_id == project.id,
            ContributionScheme.title == SCHEME_TITLE,
        )
    )
    if scheme is not None:
        return scheme
    rng = random.Random(15)
    owners = _owners(project)
    line = _residents_line(project)
    scheme = contributions.create(
        project,
        owner,
        {
            "title": SCHEME_TITLE,
            "description": "谁受益、谁出资：按房屋建筑面积分摊加装电梯和屋面防水改造的居民出资部分。",
            "basis": "floor_area",
            "rate_fen": RATE_FEN,
            "due_on": local_today() + timedelta(days=60),
            "matter": "raise_maintenance_fund",
            "funding_line_id": line.id,
        },
    )
    # The owners decide on the scheme as drafted: the decision is drawn up after it.
    decision = _owners_decision(project, clerk, owners, rng)
    contributions.link_decision(scheme, decision.id)
    contributions.adopt(scheme.id, project)
    _pledges_and_payments(scheme, owners, clerk, rng)
    _expenses(project, owner)
    return scheme


def _pledges_and_payments(scheme: ContributionScheme, owners, clerk: Staff, rng) -> None:
    """About 60% pledged (some at the desk), three declined with a reason, payments from
    about 40% (cash or bank transfer, with receipt numbers; a few in part), one of them
    recorded wrong and corrected by a new entry."""
    today = local_today()
    count = len(owners)
    pledged = owners[: int(count * 0.6)]
    declined = owners[int(count * 0.6) : int(count * 0.6) + len(DECLINE_REASONS)]
    for index, (household_id, resident_id) in enumerate(pledged):
        household = db.session.get(Household, household_id)
        caller = clerk if index % 5 == 0 else db.session.get(Resident, resident_id)
        contributions.pledge(scheme, household, caller, {"choice": "pledged"})
    for (household_id, resident_id), reason in zip(declined, DECLINE_REASONS, strict=True):
        household = db.session.get(Household, household_id)
        resident = db.session.get(Resident, resident_id)
        contributions.pledge(scheme, household, resident, {"choice": "declined", "reason": reason})

    paying = pledged[: int(count * 0.4)]
    for index, (household_id, _) in enumerate(paying):
        due = db.session.get(ContributionDue, (scheme.id, household_id)).amount_fen
        amount = due if index % 6 else due // 2  # every sixth pays half for now
        entry = payments.EntryIn(
            kind="payment",
            amount_fen=amount + (1000 if index == 3 else 0),  # the fourth: 10 元 too much
            paid_on=today - timedelta(days=rng.randrange(1, 20)),
            channel="bank_transfer" if index % 3 == 0 else "cash",
            idempotency_key=f"demo-{scheme.id}-{household_id}-pay",
            receipt_no=f"JZ{2026_0001 + index}",
            note="第一期" if index % 6 == 0 else None,
        )
        made, _ = payments.record(scheme, household_id, entry, staff=clerk)
        if index == 3:
            correction = payments.EntryIn(
                kind="correction",
                amount_fen=-1000,
                paid_on=entry.paid_on,
                channel=entry.channel,
                idempotency_key=f"demo-{scheme.id}-{household_id}-fix",
                note="收据金额登记多了10元，更正",
                corrects_id=made.id,
            )
            payments.record(scheme, household_id, correction, staff=clerk)


def _expenses(project: Project, owner: Staff) -> None:
    """Two expenses against the project's government line."""
    line = db.session.scalar(
        select(FundingLine)
        .where(FundingLine.project_id == project.id, FundingLine.source == "government")
        .order_by(FundingLine.id)
    )
    if line is None:
        return
    for index, (amount, days_ago, description) in enumerate(EXPENSES):
        expenses.record(
            project,
            owner,
            {
                "funding_line_id": line.id,
                "amount_fen": amount,
                "spent_on": local_today() - timedelta(days=days_ago),
                "description": description,
                "idempotency_key": f"demo-expense-{project.id}-{index}",
            },
        )
