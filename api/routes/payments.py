"""Money in and out: the entries of households' contribution accounts (缴款、更正、退款) that
the committee records, and a project's expenses from its funding lines (支出) with the spending
against them (支出公示)."""

from __future__ import annotations

from api import auth
from api.core import Forbidden, InvalidInput, commit, db
from api.http import Blueprint, PageArgs, page_schema, paginate
from api.routes.contributions import visible_scheme
from api.routes.projects import load_project, visible_project
from feedback.models.uploads import IMAGE_TYPES, PDF
from feedback.service import uploads
from participation import policy, spending
from participation.models import Household, Project, Resident, Staff
from participation.schemas.payments import (
    EntryArgs,
    EntryFilter,
    EntrySchema,
    ExpenseArgs,
    ExpenseSchema,
    SpendingSchema,
)
from participation.service import expenses, payments
from participation.service.contributions import HouseholdNotInScheme


class EntryPageArgs(PageArgs, EntryFilter):
    pass


blp = Blueprint(
    "payments",
    __name__,
    url_prefix="/api/v1",
    description="Contribution entries (payments, corrections, refunds), expenses and spending",
)


def scheme_household(project: Project, household_id: int) -> Household:
    """A household of one of the project's estates (404 `household_not_found` otherwise)."""
    household = db.session.get(Household, household_id)
    if household is None or household.estate_id not in {e.id for e in project.estates}:
        raise HouseholdNotInScheme()
    return household


def require_records_entries(staff: Staff, household: Household) -> None:
    """Entries are recorded at the desk of the household's community: its committee, its
    county, the prefecture (a project's owner does not take residents' money)."""
    if not policy.covers_community(staff, household.estate.community):
        raise Forbidden("仅该社区居委会或县市主管部门可以登记缴款", code="out_of_scope")


# --- entries -----------------------------------------------------------------------------------


@blp.post("/contribution-schemes/<int:scheme_id>/entries")
@auth.staff_required
@blp.arguments(EntryArgs)
@blp.response(201, EntrySchema)
@blp.alt_response(200, schema=EntrySchema, description="the entry its key recorded before")
@blp.errors(401, 403, 404, 409, 422)
def record_entry(args, scheme_id):
    """Record a payment, a correction or a refund of a household's account (201): the
    committee of the household's community, its county or the prefecture. The same
    `idempotency_key` again with the same content answers 200 with the entry recorded before
    (two clerks submitting one payment record it once); with other content 409
    `idempotency_key_reused`. A scheme collects nothing before its owners' decision adopts it
    (409 `scheme_not_adopted`)."""
    scheme, project = visible_scheme(scheme_id)
    staff = auth.current_staff()
    household = scheme_household(project, args["household_id"])
    require_records_entries(staff, household)
    if args["photo_id"] is not None:
        uploads.evidence_upload(
            project,
            staff,
            args["photo_id"],
            field="photo_id",
            message="收据照片须是您为本项目上传的图片",
        )
    entry, created = payments.record(
        scheme, household.id, payments.EntryIn.from_args(args), source="clerk", staff=staff
    )
    row = spending.entry_rows([entry])[0]
    if created:
        commit()
    return row, 201 if created else 200


@blp.get("/contribution-schemes/<int:scheme_id>/entries")
@auth.login_required
@blp.arguments(EntryPageArgs, location="query")
@blp.response(200, page_schema(EntrySchema, "EntryPage"))
@blp.errors(401, 403, 404, 422)
def list_entries(args, scheme_id):
    """The scheme's entries, the latest first (`household_id`: one household's): for staff
    who see the project; a verified member of a household reads their own household's
    (`household_id` required, 422 `household_id_required`; 403 `not_household_member` for
    another household)."""
    scheme, _ = visible_scheme(scheme_id)
    caller = auth.current_caller()
    household_id = args.get("household_id")
    if isinstance(caller, Resident):
        if household_id is None:
            raise InvalidInput("请指定要查看的房屋", code="household_id_required")
        household = db.session.get(Household, household_id)
        if household is None:
            raise Forbidden("您不是该房屋的已认证住户", code="not_household_member")
        policy.require_member(caller, household)
    page = paginate(spending.entries(scheme.id, household_id), args)
    return {**page, "items": spending.entry_rows(page["items"])}


# --- expenses and spending ----------------------------------------------------------------------


@blp.post("/projects/<int:project_id>/expenses")
@auth.staff_required
@blp.arguments(ExpenseArgs)
@blp.response(201, ExpenseSchema)
@blp.alt_response(200, schema=ExpenseSchema, description="the expense its key recorded before")
@blp.errors(401, 403, 404, 409, 422)
def record_expense(args, project_id):
    """Record money spent from one of the project's funding lines (201): its owner, its county
    or the prefecture. A correction is a new expense naming the one it corrects. The same
    `idempotency_key` again with the same content answers 200 with the expense recorded
    before; with other content 409 `idempotency_key_reused`."""
    project = load_project(project_id)
    staff = auth.current_staff()
    policy.require_manages_project(staff, project)
    if args["voucher_id"] is not None:
        uploads.own_uploads(
            project,
            staff,
            [args["voucher_id"]],
            field="voucher_id",
            message="凭证须是您为本项目上传的图片或 PDF 文件",
            content_types=(*IMAGE_TYPES, PDF),
        )
    expense, created = expenses.record(project, staff, args)
    if created:
        commit()
    return expense, 201 if created else 200


@blp.get("/projects/<int:project_id>/expenses")
@auth.staff_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(ExpenseSchema, "ExpensePage"))
@blp.errors(401, 403, 404, 422)
def list_expenses(args, project_id):
    """The project's expenses, the latest spent first (corrections as their own entries):
    staff who see the project."""
    project = visible_project(project_id)
    return paginate(spending.expenses(project.id), args)


@blp.get("/projects/<int:project_id>/spending")
@auth.login_required
@blp.response(200, SpendingSchema)
@blp.errors(401, 403, 404)
def project_spending(project_id):
    """Spending against each of the project's funding lines (支出公示): the line's amount,
    what was spent from it and what remains, in fen, with the totals. Public to the project:
    staff who see it and verified residents of its estates."""
    project = visible_project(project_id)
    return spending.spending(project.id)
