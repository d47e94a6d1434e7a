"""Reads of contribution schemes (居民出资): a scheme's summary, its households' accounts, the
figures per building, the publicity list (公示), the Excel export and a resident's own view.

An adopted (or adopted, then cancelled) scheme reads the frozen amounts (`ContributionDue`)
with each household's pledge and the sum of its entries, aggregated in SQL; a draft's amounts
are computed from the roster as they would be frozen now (`provisional`). Every amount is
integer fen; areas are Decimal. Nothing here writes.
"""

from __future__ import annotations

from decimal import Decimal

from openpyxl import Workbook
from sqlalchemy import and_, case, func, select

from api.core import db, labels
from api.core.fields import mask_name
from api.core.numbers import yuan_to_fen
from api.core.sheets import add_sheet, local_minute, workbook_bytes
from participation.models import (
    Building,
    ContributionDue,
    ContributionEntry,
    ContributionPledge,
    ContributionScheme,
    Estate,
    FundingLine,
    Household,
    HouseholdClaim,
    Project,
    Resident,
    project_estates,
)
from participation.queries import natural_key
from participation.service.contributions import (
    PLEDGING_RELATIONS,
    amount_fen,
    covered_households,
    decision_outcome,
    frozen,
)
from participation.spending import spending

STATES = ("pledged", "declined", "unanswered", "paid", "partly_paid", "unpaid", "overpaid")
COUNTS = (
    "households",
    "pledged",
    "declined",
    "unanswered",
    "paid_in_full",
    "partly_paid",
    "unpaid",
)
SUMS = ("due_fen", "paid_fen", "outstanding_fen", "refunded_fen", "overpaid_fen")


def schemes_of(project_id: int) -> list[ContributionScheme]:
    """The project's schemes, the newest first."""
    return list(
        db.session.scalars(
            select(ContributionScheme)
            .where(ContributionScheme.project_id == project_id)
            .order_by(ContributionScheme.id.desc())
        )
    )


def project_buildings(project: Project) -> list[dict]:
    """The buildings of the project's estates, estate by estate and in natural order of their
    names, each with its number of households: what a scheme for some buildings picks from."""
    rows = db.session.execute(
        select(Building.id, Building.name, Estate.id, Estate.name, func.count(Household.id))
        .join(Estate, Estate.id == Building.estate_id)
        .outerjoin(Household, Household.building_id == Building.id)
        .where(Building.estate_id.in_([estate.id for estate in project.estates]))
        .group_by(Building.id, Building.name, Estate.id, Estate.name)
    )
    buildings = [
        {"id": b, "name": name, "estate_id": e, "estate": estate, "households": count}
        for b, name, e, estate, count in rows
    ]
    return sorted(buildings, key=lambda b: (b["estate_id"], natural_key(b["name"]), b["id"]))


def yuan(fen: int) -> str:
    """1250 → "12.50": fen as yuan in words, exactly."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def basis_words(scheme: ContributionScheme, floor_area: Decimal | None) -> str:
    """How a household's amount was reached, in words."""
    if scheme.basis == "household":
        return f"按户 {yuan(scheme.rate_fen)} 元/户"
    area = Decimal(floor_area or 0).quantize(Decimal("0.01"))
    return f"按建筑面积 {area} m² × {yuan(scheme.rate_fen)} 元/m²，按分四舍五入"


# --- households' accounts --------------------------------------------------------------------


def _accounts(scheme_id: int):
    """Subquery: each household of the frozen scheme with its amount, pledge, net paid
    (every entry summed) and refunded amount."""
    entries = (
        select(
            ContributionEntry.household_id,
            func.sum(ContributionEntry.amount_fen).label("paid"),
            func.sum(
                case((ContributionEntry.kind == "refund", -ContributionEntry.amount_fen), else_=0)
            ).label("refunded"),
        )
        .where(ContributionEntry.scheme_id == scheme_id)
        .group_by(ContributionEntry.household_id)
        .subquery()
    )
    return (
        select(
            ContributionDue.household_id,
            ContributionDue.building_id,
            ContributionDue.floor_area,
            ContributionDue.amount_fen.label("amount"),
            ContributionPledge.choice,
            ContributionPledge.reason,
            func.coalesce(entries.c.paid, 0).label("paid"),
            func.coalesce(entries.c.refunded, 0).label("refunded"),
        )
        .outerjoin(
            ContributionPledge,
            and_(
                ContributionPledge.scheme_id == ContributionDue.scheme_id,
                ContributionPledge.household_id == ContributionDue.household_id,
            ),
        )
        .outerjoin(entries, entries.c.household_id == ContributionDue.household_id)
        .where(ContributionDue.scheme_id == scheme_id)
        .subquery()
    )


def _state_condition(accounts, state: str):
    paid, amount = accounts.c.paid, accounts.c.amount
    return {
        "pledged": accounts.c.choice == "pledged",
        "declined": accounts.c.choice == "declined",
        "unanswered": accounts.c.choice.is_(None),
        "paid": paid >= amount,
        "partly_paid": and_(paid > 0, paid < amount),
        "unpaid": and_(paid <= 0, paid < amount),
        "overpaid": paid > amount,
    }[state]


def _state_of(row: dict, state: str) -> bool:
    """`_state_condition` of a draft's computed row (nothing pledged, nothing paid)."""
    paid, amount = row["paid_fen"], row["amount_fen"]
    return {
        "pledged": False,
        "declined": False,
        "unanswered": True,
        "paid": paid >= amount,
        "partly_paid": 0 < paid < amount,
        "unpaid": paid <= 0 and paid < amount,
        "overpaid": paid > amount,
    }[state]


def _row(
    household_id, building_id, building, unit, room, owner, area, amount, choice, reason, paid
):
    return {
        "household_id": household_id,
        "building_id": building_id,
        "building": building,
        "unit": unit,
        "room": room,
        "owner": mask_name(owner),
        "floor_area": area,
        "amount_fen": int(amount),
        "pledge": choice,
        "reason": reason,
        "paid_fen": int(paid),
        "outstanding_fen": max(int(amount) - int(paid), 0),
    }


def _live_rows(scheme: ContributionScheme, building_id: int | None = None) -> list[dict]:
    """A draft's households as adoption would freeze them now."""
    covered = covered_households(scheme).subquery()
    statement = (
        select(
            Household.id,
            Household.building_id,
            Building.name,
            Household.unit,
            Household.room,
            Household.owner_name,
            Household.floor_area,
        )
        .join(covered, covered.c.id == Household.id)
        .join(Building, Building.id == Household.building_id)
        .order_by(Building.name, Household.unit, Household.room, Household.id)
    )
    if building_id is not None:
        statement = statement.where(Household.building_id == building_id)
    return [
        _row(
            h,
            b,
            name,
            unit,
            room,
            owner,
            area,
            amount_fen(scheme.basis, scheme.rate_fen, area),
            None,
            None,
            0,
        )
        for h, b, name, unit, room, owner, area in db.session.execute(statement)
    ]


def households(scheme: ContributionScheme, args: dict) -> dict:
    """One page of the scheme's households (`building_id`, `state` filters), each with its
    amount, pledge, paid and outstanding fen; a draft's computed (`provisional`)."""
    page, per_page = args["page"], args["per_page"]
    building_id, state = args.get("building_id"), args.get("state")
    start = (page - 1) * per_page
    if not frozen(scheme):
        rows = _live_rows(scheme, building_id)
        if state is not None:
            rows = [row for row in rows if _state_of(row, state)]
        items = rows[start : start + per_page]
        total = len(rows)
    else:
        accounts = _accounts(scheme.id)
        statement = (
            select(
                accounts.c.household_id,
                accounts.c.building_id,
                Building.name,
                Household.unit,
                Household.room,
                Household.owner_name,
                accounts.c.floor_area,
                accounts.c.amount,
                accounts.c.choice,
                accounts.c.reason,
                accounts.c.paid,
            )
            .join(Household, Household.id == accounts.c.household_id)
            .join(Building, Building.id == accounts.c.building_id)
        )
        if building_id is not None:
            statement = statement.where(accounts.c.building_id == building_id)
        if state is not None:
            statement = statement.where(_state_condition(accounts, state))
        total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
        ordered = statement.order_by(
            Building.name, Household.unit, Household.room, accounts.c.household_id
        )
        items = [_row(*row) for row in db.session.execute(ordered.limit(per_page).offset(start))]
    for item in items:
        item["provisional"] = not frozen(scheme)
    return {"items": items, "page": page, "per_page": per_page, "total": total}


# --- figures -----------------------------------------------------------------------------------


def _empty() -> dict:
    return dict.fromkeys(COUNTS + SUMS, 0)


def _building_figures(scheme: ContributionScheme) -> dict[int, dict]:
    """Per building id, the counts and sums (`COUNTS`, `SUMS`): SQL aggregates over the frozen
    accounts, or a draft's computed amounts."""
    if not frozen(scheme):
        figures: dict[int, dict] = {}
        for row in _live_rows(scheme):
            f = figures.setdefault(row["building_id"], _empty())
            f["households"] += 1
            f["unanswered"] += 1
            due = row["amount_fen"]
            f["due_fen"] += due
            f["outstanding_fen"] += due
            f["paid_in_full" if due <= 0 else "unpaid"] += 1
        return figures
    a = _accounts(scheme.id)

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def total(value):
        return func.coalesce(func.sum(value), 0)

    statement = select(
        a.c.building_id,
        func.count().label("households"),
        count(a.c.choice == "pledged").label("pledged"),
        count(a.c.choice == "declined").label("declined"),
        count(a.c.choice.is_(None)).label("unanswered"),
        count(a.c.paid >= a.c.amount).label("paid_in_full"),
        count(and_(a.c.paid > 0, a.c.paid < a.c.amount)).label("partly_paid"),
        count(and_(a.c.paid <= 0, a.c.paid < a.c.amount)).label("unpaid"),
        total(a.c.amount).label("due_fen"),
        total(a.c.paid).label("paid_fen"),
        total(case((a.c.amount > a.c.paid, a.c.amount - a.c.paid), else_=0)).label(
            "outstanding_fen"
        ),
        total(a.c.refunded).label("refunded_fen"),
        total(case((a.c.paid > a.c.amount, a.c.paid - a.c.amount), else_=0)).label("overpaid_fen"),
    ).group_by(a.c.building_id)
    return {
        row.building_id: {key: int(getattr(row, key)) for key in COUNTS + SUMS}
        for row in db.session.execute(statement)
    }


def _funding_line(scheme: ContributionScheme) -> dict | None:
    if scheme.funding_line_id is None:
        return None
    line = db.session.get(FundingLine, scheme.funding_line_id)
    return {
        "id": line.id,
        "source": line.source,
        "source_label": labels.FUNDING_SOURCES.get(line.source, line.source),
        "amount_fen": yuan_to_fen(line.amount),
    }


def figures(scheme: ContributionScheme) -> dict:
    """The scheme's totals and per-building figures (households pledged, declined, paid in
    full, partly, unpaid; due, paid, outstanding, refunded, overpaid fen), and its total
    against the funding line it names."""
    per_building = _building_figures(scheme)
    names = dict(
        db.session.execute(
            select(Building.id, Building.name).where(Building.id.in_(list(per_building)))
        ).all()
    )
    buildings = sorted(
        ({"building_id": b, "name": names.get(b, ""), **f} for b, f in per_building.items()),
        key=lambda item: (natural_key(item["name"]), item["building_id"]),
    )
    totals = _empty()
    for item in buildings:
        for key in COUNTS + SUMS:
            totals[key] += item[key]
    line = _funding_line(scheme)
    return {
        "scheme_id": scheme.id,
        "status": scheme.status,
        "provisional": not frozen(scheme),
        "totals": totals,
        "buildings": buildings,
        "funding_line": line,
        "difference_fen": totals["due_fen"] - line["amount_fen"] if line else None,
    }


# --- the summary of a scheme -------------------------------------------------------------------


def summary(scheme: ContributionScheme) -> dict:
    """What a scheme's page states beside it: its households and total against the funding
    line, the rounding rule, the majority its matter needs, the decision linked."""
    if frozen(scheme):
        count, total = db.session.execute(
            select(func.count(), func.coalesce(func.sum(ContributionDue.amount_fen), 0)).where(
                ContributionDue.scheme_id == scheme.id
            )
        ).one()
    else:
        amounts = [
            amount_fen(scheme.basis, scheme.rate_fen, area)
            for *_, area in db.session.execute(covered_households(scheme))
        ]
        count, total = len(amounts), sum(amounts)
    line = _funding_line(scheme)
    outcome = decision_outcome(scheme.decision_id)
    rule = labels.rule_of(scheme.matter)
    return {
        "households": int(count),
        "total_fen": int(total),
        "provisional": not frozen(scheme),
        "funding_line": line,
        "difference_fen": int(total) - line["amount_fen"] if line else None,
        "rounding": {"rule": "half_up", "label": labels.ROUNDING_RULES["half_up"]},
        "rule": rule,
        "rule_label": labels.RULES[rule],
        "decision": None
        if outcome is None
        else {
            "id": outcome.consultation_id,
            "title": outcome.title,
            "status": outcome.status,
            "final": outcome.final,
            "passed": outcome.passed,
            "passed_estate_ids": sorted(outcome.passed_estate_ids),
        },
    }


# --- publicity ---------------------------------------------------------------------------------


def publicity(scheme: ContributionScheme, args: dict) -> dict:
    """The publicity list (公示): each household's place, its owner's name masked, its amount,
    paid and pledge (no reasons), one page; and the project's spending against its funding
    lines."""
    page = households(scheme, {**args, "building_id": None, "state": None})
    page["items"] = [
        {
            key: item[key]
            for key in (
                "building",
                "unit",
                "room",
                "owner",
                "amount_fen",
                "paid_fen",
                "pledge",
                "provisional",
            )
        }
        for item in page["items"]
    ]
    return {**page, "scheme_id": scheme.id, "spending": spending(scheme.project_id)}


# --- the export --------------------------------------------------------------------------------


def _yuan_number(fen: int) -> Decimal:
    return Decimal(fen) / 100


def workbook(scheme: ContributionScheme, project: Project) -> bytes:
    """The scheme's workbook: its households, the entries of their accounts, the figures per
    building. Owners' names masked; amounts in yuan to the fen (exact decimals)."""
    rows = households(scheme, {"page": 1, "per_page": 10**9})["items"]
    pledge_labels = labels.PLEDGE_CHOICES
    book = Workbook()
    title = f"{project.name} · {scheme.title}（{labels.CONTRIBUTION_STATUSES[scheme.status]}）"
    add_sheet(
        book,
        "户",
        title,
        [
            ("楼栋", 10),
            ("单元", 8),
            ("房号", 8),
            ("业主", 10),
            ("建筑面积（m²）", 14),
            ("应缴（元）", 14),
            ("承诺", 10),
            ("原因", 24),
            ("已缴（元）", 14),
            ("未缴（元）", 14),
        ],
        [
            (
                r["building"],
                r["unit"],
                r["room"],
                r["owner"],
                r["floor_area"],
                _yuan_number(r["amount_fen"]),
                pledge_labels.get(r["pledge"], "未答复"),
                r["reason"] or "",
                _yuan_number(r["paid_fen"]),
                _yuan_number(r["outstanding_fen"]),
            )
            for r in rows
        ],
        formats={5: "0.00", 6: "0.00", 9: "0.00", 10: "0.00"},
    )
    entries = db.session.execute(
        select(ContributionEntry, Building.name, Household.unit, Household.room)
        .join(Household, Household.id == ContributionEntry.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(ContributionEntry.scheme_id == scheme.id)
        .order_by(ContributionEntry.id)
    ).all()
    add_sheet(
        book,
        "缴退款记录",
        f"{scheme.title} · 缴款、更正与退款记录",
        [
            ("编号", 8),
            ("楼栋", 10),
            ("单元", 8),
            ("房号", 8),
            ("类型", 8),
            ("金额（元）", 14),
            ("日期", 12),
            ("方式", 10),
            ("收据号", 16),
            ("更正编号", 10),
            ("备注", 24),
            ("登记时间", 18),
        ],
        [
            (
                e.id,
                name,
                unit,
                room,
                labels.CONTRIBUTION_ENTRY_KINDS[e.kind],
                _yuan_number(e.amount_fen),
                e.paid_on.isoformat(),
                labels.PAYMENT_CHANNELS[e.channel],
                e.receipt_no or "",
                e.corrects_id or "",
                e.note or "",
                local_minute(e.created_at),
            )
            for e, name, unit, room in entries
        ],
        formats={6: "0.00"},
    )
    numbers = figures(scheme)
    columns = [
        ("楼栋", 10),
        ("户数", 8),
        ("承诺", 8),
        ("暂不出资", 10),
        ("未答复", 8),
        ("已缴清", 8),
        ("部分缴纳", 10),
        ("未缴", 8),
        ("应缴（元）", 14),
        ("已缴（元）", 14),
        ("未缴（元）", 14),
        ("退款（元）", 14),
        ("多缴（元）", 14),
    ]

    def line(name, f):
        return (name, *(f[key] for key in COUNTS), *(_yuan_number(f[key]) for key in SUMS))

    add_sheet(
        book,
        "楼栋统计",
        f"{scheme.title} · 分楼栋统计",
        columns,
        [*(line(b["name"], b) for b in numbers["buildings"]), line("合计", numbers["totals"])],
        formats={index: "0.00" for index in range(9, 14)},
    )
    return workbook_bytes(book)


# --- a resident's own view ---------------------------------------------------------------------


def resident_view(resident: Resident) -> list[dict]:
    """For each household the resident is a verified member of: the schemes covering it
    (drafts too, `provisional`), its amount and the basis in words, the due date, its pledge,
    paid and outstanding fen."""
    memberships = db.session.execute(
        select(Household, Building.name, Estate.name, HouseholdClaim.relation)
        .join(HouseholdClaim, HouseholdClaim.household_id == Household.id)
        .join(Building, Building.id == Household.building_id)
        .join(Estate, Estate.id == Household.estate_id)
        .where(HouseholdClaim.resident_id == resident.id, HouseholdClaim.status == "verified")
        .order_by(Household.id)
    ).all()
    result = []
    for household, building, estate, relation in memberships:
        schemes = db.session.scalars(
            select(ContributionScheme)
            .join(project_estates, project_estates.c.project_id == ContributionScheme.project_id)
            .where(project_estates.c.estate_id == household.estate_id)
            .order_by(ContributionScheme.id.desc())
        ).all()
        items = []
        for scheme in schemes:
            if scheme.building_ids and household.building_id not in scheme.building_ids:
                continue
            items.append(_resident_scheme(scheme, household))
        result.append(
            {
                "household_id": household.id,
                "estate": estate,
                "building": building,
                "unit": household.unit,
                "room": household.room,
                "relation": relation,
                "may_pledge": relation in PLEDGING_RELATIONS,
                "schemes": [item for item in items if item is not None],
            }
        )
    return result


def _resident_scheme(scheme: ContributionScheme, household: Household) -> dict | None:
    due = db.session.get(ContributionDue, (scheme.id, household.id)) if frozen(scheme) else None
    if frozen(scheme) and due is None:
        return None  # joined the roster after the adoption: not part of what was decided
    area = due.floor_area if due is not None else household.floor_area
    amount = due.amount_fen if due is not None else amount_fen(scheme.basis, scheme.rate_fen, area)
    pledge = db.session.get(ContributionPledge, (scheme.id, household.id))
    paid = int(
        db.session.scalar(
            select(func.coalesce(func.sum(ContributionEntry.amount_fen), 0)).where(
                ContributionEntry.scheme_id == scheme.id,
                ContributionEntry.household_id == household.id,
            )
        )
    )
    return {
        "scheme_id": scheme.id,
        "project_id": scheme.project_id,
        "title": scheme.title,
        "status": scheme.status,
        "provisional": not frozen(scheme),
        "basis": scheme.basis,
        "basis_words": basis_words(scheme, area),
        "floor_area": area,
        "rate_fen": scheme.rate_fen,
        "amount_fen": amount,
        "due_on": scheme.due_on,
        "matter": scheme.matter,
        "pledge": pledge.choice if pledge else None,
        "reason": pledge.reason if pledge else None,
        "paid_fen": paid,
        "outstanding_fen": max(amount - paid, 0),
    }


def home_contributions(resident_id: int) -> list[dict]:
    """What the resident's home screen (首页) lists of contributions, in one statement: for each
    household they are a verified member of, the adopted schemes it has not answered or not
    paid in full (amount, paid, outstanding fen, its pledge), the earliest due first."""
    paid = (
        select(func.coalesce(func.sum(ContributionEntry.amount_fen), 0))
        .where(
            ContributionEntry.scheme_id == ContributionDue.scheme_id,
            ContributionEntry.household_id == ContributionDue.household_id,
        )
        .correlate(ContributionDue)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            ContributionScheme.id,
            ContributionScheme.project_id,
            ContributionScheme.title,
            ContributionScheme.due_on,
            ContributionDue.household_id,
            ContributionDue.amount_fen,
            ContributionPledge.choice,
            paid.label("paid"),
        )
        .join(ContributionScheme, ContributionScheme.id == ContributionDue.scheme_id)
        .join(
            HouseholdClaim,
            and_(
                HouseholdClaim.household_id == ContributionDue.household_id,
                HouseholdClaim.resident_id == resident_id,
                HouseholdClaim.status == "verified",
            ),
        )
        .outerjoin(
            ContributionPledge,
            and_(
                ContributionPledge.scheme_id == ContributionDue.scheme_id,
                ContributionPledge.household_id == ContributionDue.household_id,
            ),
        )
        .where(ContributionScheme.status == "adopted")
        .order_by(ContributionScheme.due_on, ContributionScheme.id, ContributionDue.household_id)
    )
    return [
        {
            "scheme_id": scheme_id,
            "project_id": project_id,
            "title": title,
            "due_on": due_on,
            "household_id": household_id,
            "amount_fen": int(amount),
            "paid_fen": int(paid_fen),
            "outstanding_fen": max(int(amount) - int(paid_fen), 0),
            "pledge": choice,
        }
        for scheme_id, project_id, title, due_on, household_id, amount, choice, paid_fen in rows
        if choice is None or int(paid_fen) < int(amount)
    ]
