"""A project's spending from its funding lines (支出登记), for the publicity of spending against
them. Expenses are never edited: a correction is a new expense that names the one it corrects.

The same `idempotency_key` is one expense: recorded again with the same content it is the
expense already there; with other content (or for another project) it is refused. Expenses of
one funding line are written one at a time (the line is locked FOR UPDATE), so two corrections
at once cannot take an expense below zero.

Functions flush, never commit.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from api.core import Conflict, InvalidInput, db, dialect_insert, local_today
from api.core.audit import note_row
from participation.models import FundingLine, Project, ProjectExpense, Staff

# What makes an expense's content, besides its key.
CONTENT = (
    "project_id",
    "funding_line_id",
    "amount_fen",
    "spent_on",
    "description",
    "voucher_upload_id",
    "corrects_id",
)


def _by_key(key: str) -> ProjectExpense | None:
    return db.session.scalar(
        select(ProjectExpense)
        .where(ProjectExpense.idempotency_key == key)
        .execution_options(populate_existing=True)
    )


def _same(existing: ProjectExpense, values: dict) -> ProjectExpense:
    if any(getattr(existing, name) != values[name] for name in CONTENT):
        raise Conflict(
            "该登记编号已用于另一笔内容不同的支出，请重新打开登记窗口后再提交",
            code="idempotency_key_reused",
        )
    return existing


def _locked_line(project: Project, funding_line_id: int) -> FundingLine:
    line = db.session.scalar(
        select(FundingLine)
        .where(FundingLine.id == funding_line_id, FundingLine.project_id == project.id)
        .with_for_update()
    )
    if line is None:
        raise InvalidInput(
            "资金来源须是本项目的一项资金来源",
            code="funding_line_invalid",
            details={"funding_line_id": funding_line_id},
        )
    return line


def _check_correction(project: Project, values: dict) -> None:
    """The corrected expense is an original expense of the same line, and it stays ≥ 0 with
    all its corrections."""
    corrected = db.session.get(ProjectExpense, values["corrects_id"])
    if (
        corrected is None
        or corrected.project_id != project.id
        or corrected.funding_line_id != values["funding_line_id"]
        or corrected.corrects_id is not None
    ):
        raise InvalidInput(
            "更正须指向本项目同一资金来源下的一条原始支出记录",
            code="corrected_expense_invalid",
            details={"corrects_id": values["corrects_id"]},
        )
    standing = db.session.scalar(
        select(func.sum(ProjectExpense.amount_fen)).where(
            or_(ProjectExpense.id == corrected.id, ProjectExpense.corrects_id == corrected.id)
        )
    )
    if int(standing) + values["amount_fen"] < 0:
        raise Conflict(
            "更正后该笔支出的金额将小于零",
            code="balance_negative",
            details={"standing_fen": int(standing), "amount_fen": values["amount_fen"]},
        )


def record(project: Project, staff: Staff, args: dict) -> tuple[ProjectExpense, bool]:
    """Record an expense of the project (`ExpenseArgs`, `voucher_id` already checked by the
    caller); (the expense, created). The same key with the same content is the expense
    recorded before (created False); else 409 `idempotency_key_reused`. 422
    `funding_line_invalid`, `spent_on_in_future`, `corrected_expense_invalid`; 409
    `balance_negative`. Nothing is written on a refusal."""
    values = {
        "project_id": project.id,
        "funding_line_id": args["funding_line_id"],
        "amount_fen": args["amount_fen"],
        "spent_on": args["spent_on"],
        "description": args["description"],
        "voucher_upload_id": args.get("voucher_id"),
        "corrects_id": args.get("corrects_id"),
        "idempotency_key": args["idempotency_key"],
        "staff_id": staff.id,
    }
    existing = _by_key(values["idempotency_key"])
    if existing is not None:
        return _same(existing, values), False
    if values["spent_on"] > local_today():
        raise InvalidInput("支出日期不能晚于今天", code="spent_on_in_future")
    _locked_line(project, values["funding_line_id"])
    existing = _by_key(values["idempotency_key"])  # recorded while this one waited
    if existing is not None:
        return _same(existing, values), False
    if values["corrects_id"] is not None:
        _check_correction(project, values)
    statement = (
        dialect_insert(ProjectExpense.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(ProjectExpense.__table__.c.id)
    )
    new_id = db.session.execute(statement).scalar()
    if new_id is not None:
        note_row(db.session, "project_expenses", new_id, "insert", after=values)
    if new_id is None:
        return _same(_by_key(values["idempotency_key"]), values), False
    return db.session.get(ProjectExpense, new_id), True
