"""Reads of a project's spending against its funding lines (支出公示).

A funding line's amount is held in yuan with two decimals (`FundingLine.amount`, Numeric(14, 2));
here it is turned into integer fen exactly (Decimal × 100, never float). What was spent from a
line is the sum of its expenses, corrections (negative entries) included. Nothing here writes.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from api.core import db, labels
from participation.models import FundingLine, ProjectExpense


def yuan_to_fen(amount: Decimal | int | None) -> int:
    """An amount in yuan with at most two decimals as integer fen, exactly."""
    if amount is None:
        return 0
    return int((Decimal(amount) * 100).to_integral_value())


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
