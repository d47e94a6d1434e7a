"""Reads of a project's spending against its funding lines (支出公示), and of the entries of
households' contribution accounts.

A funding line's amount is held in yuan with two decimals (`FundingLine.amount`, Numeric(14, 2));
here it is turned into integer fen exactly (Decimal × 100, never float). What was spent from a
line is the sum of its expenses, corrections (negative entries) included. Nothing here writes.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select

from api.core import db, labels
from api.core.numbers import yuan_to_fen
from participation.models import (
    Building,
    ContributionEntry,
    FundingLine,
    Household,
    ProjectExpense,
)


def spending(project_id: int) -> dict:
    """The project's funding lines with what was spent from each, and the totals.

    `{"lines": [{funding_line_id, source, label, amount_fen, spent_fen, remaining_fen,
    expenses}], "totals": {amount_fen, spent_fen, remaining_fen, expenses}}`, the lines in id
    order; every amount integer fen. `remaining_fen` may be negative when a line is overspent
    (shown as it is: the publicity does not hide it).
    """
    spent = (
        select(
            ProjectExpense.funding_line_id,
            func.coalesce(func.sum(ProjectExpense.amount_fen), 0).label("spent"),
            func.count(ProjectExpense.id).label("entries"),
        )
        .where(ProjectExpense.project_id == project_id)
        .group_by(ProjectExpense.funding_line_id)
        .subquery()
    )
    rows = db.session.execute(
        select(FundingLine, spent.c.spent, spent.c.entries)
        .outerjoin(spent, spent.c.funding_line_id == FundingLine.id)
        .where(FundingLine.project_id == project_id)
        .order_by(FundingLine.id)
    ).all()
    lines = []
    for line, spent_fen, entries in rows:
        amount_fen = yuan_to_fen(line.amount)
        spent_fen = int(spent_fen or 0)
        lines.append(
            {
                "funding_line_id": line.id,
                "source": line.source,
                "label": labels.FUNDING_SOURCES.get(line.source, line.source),
                "note": line.note,
                "amount_fen": amount_fen,
                "spent_fen": spent_fen,
                "remaining_fen": amount_fen - spent_fen,
                "expenses": int(entries or 0),
            }
        )
    totals = {
        "amount_fen": sum(line["amount_fen"] for line in lines),
        "spent_fen": sum(line["spent_fen"] for line in lines),
        "expenses": sum(line["expenses"] for line in lines),
    }
    totals["remaining_fen"] = totals["amount_fen"] - totals["spent_fen"]
    return {"lines": lines, "totals": totals}


def expenses(project_id: int) -> Select:
    """The project's expenses, the latest spent first (a SELECT to page)."""
    return (
        select(ProjectExpense)
        .where(ProjectExpense.project_id == project_id)
        .order_by(ProjectExpense.spent_on.desc(), ProjectExpense.id.desc())
    )


def entries(scheme_id: int, household_id: int | None = None) -> Select:
    """The scheme's entries (of one household when given), the latest recorded first (a
    SELECT to page)."""
    statement = select(ContributionEntry).where(ContributionEntry.scheme_id == scheme_id)
    if household_id is not None:
        statement = statement.where(ContributionEntry.household_id == household_id)
    return statement.order_by(ContributionEntry.id.desc())


ENTRY_COLUMNS = tuple(column.key for column in ContributionEntry.__table__.columns)


def entry_rows(found: list[ContributionEntry]) -> list[dict]:
    """The entries as a reply shows them: each with its household's building, unit and room
    (one statement for them all, none for no entry)."""
    household_ids = {entry.household_id for entry in found}
    places = {}
    if household_ids:
        places = {
            row.id: row
            for row in db.session.execute(
                select(
                    Household.id, Building.name.label("building"), Household.unit, Household.room
                )
                .join(Building, Building.id == Household.building_id)
                .where(Household.id.in_(household_ids))
            )
        }
    rows = []
    for entry in found:
        place = places.get(entry.household_id)
        rows.append(
            {
                **{name: getattr(entry, name) for name in ENTRY_COLUMNS},
                "building": place.building if place else None,
                "unit": place.unit if place else None,
                "room": place.room if place else None,
            }
        )
    return rows
