"""Contribution schemes (居民出资方案): proposed by the project's managers, adopted by a passed
owners' decision, answered by households (承诺出资 / 暂不出资); their figures, publicity and
export; a resident's own contributions."""

from api import auth
from api.core import commit, db
from api.http import Blueprint, PageArgs
from api.routes.exports import download, download_doc
from api.routes.projects import hidden_as, load_project, visible_project, visible_reading
from participation import contributions as reads
from participation import policy
from participation.models import ContributionScheme, Household, Project
from participation.schemas.contributions import (
    CancelArgs,
    DecisionLinkArgs,
    FiguresSchema,
    HouseholdFilter,
    HouseholdsPageSchema,
    MyHouseholdContributionsSchema,
    PledgeArgs,
    PledgeSchema,
    ProjectBuildingSchema,
    PublicitySchema,
    SchemeArgs,
    SchemeDetailSchema,
    SchemePatchArgs,
    SchemeSchema,
)
from participation.service import contributions as service
from participation.service.contributions import SchemeNotFound

blp = Blueprint(
    "contributions",
    __name__,
    url_prefix="/api/v1",
    description="Residents' contribution schemes (居民出资方案) and pledges",
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class HouseholdsArgs(HouseholdFilter, PageArgs):
    pass


class _Detail:
    """A scheme as its detail reply shows it: its columns and its `summary`."""

    def __init__(self, scheme: ContributionScheme):
        self._scheme = scheme
        self.summary = reads.summary(scheme)

    def __getattr__(self, name):
        return getattr(self._scheme, name)


def _detail(scheme: ContributionScheme) -> _Detail:
    return _Detail(scheme)


def visible_scheme(scheme_id: int) -> tuple[ContributionScheme, Project]:
    """The scheme and its project, if the caller sees the project (staff in scope, verified
    residents of its estates); a missing one or one out of sight answers 404
    `scheme_not_found`."""
    with hidden_as(SchemeNotFound):
        reading = visible_reading(via=(ContributionScheme.id, scheme_id))
    if reading.via is None:
        raise SchemeNotFound()
    return reading.via, reading.project


def staff_scheme(scheme_id: int) -> tuple[ContributionScheme, Project]:
    """The scheme and its project for a staff member who sees the project."""
    scheme, project = visible_scheme(scheme_id)
    auth.current_staff()
    return scheme, project


def managed_scheme(scheme_id: int) -> tuple[ContributionScheme, Project]:
    """The scheme and its project for its managers (the project's owner, its county, the
    prefecture); committees of its estates see it and are refused (403)."""
    scheme, project = staff_scheme(scheme_id)
    policy.require_manages_project(auth.current_staff(), project)
    return scheme, project


# --- schemes -----------------------------------------------------------------------------------


@blp.get("/projects/<int:project_id>/contribution-schemes")
@auth.token_required
@blp.response(200, SchemeSchema(many=True))
@blp.errors(401, 403, 404)
def list_schemes(project_id):
    """The project's contribution schemes, the newest first: staff in scope and verified
    residents of its estates."""
    project = visible_project(project_id)
    return reads.schemes_of(project.id)


@blp.get("/projects/<int:project_id>/buildings")
@auth.staff_required
@blp.response(200, ProjectBuildingSchema(many=True))
@blp.errors(401, 403, 404)
def list_project_buildings(project_id):
    """The buildings of the project's estates with their households' number, estate by estate
    (what a contribution scheme for some buildings picks from): staff who see the project,
    its owner included."""
    project = load_project(project_id)
    policy.require_sees_project(auth.current_staff(), project)
    return reads.project_buildings(project)


@blp.post("/projects/<int:project_id>/contribution-schemes")
@auth.staff_required
@blp.arguments(SchemeArgs)
@blp.response(201, SchemeDetailSchema)
@blp.errors(401, 403, 404, 422)
def create_scheme(args, project_id):
    """Propose a contribution scheme (a draft): by floor area (fen per m²) or per household,
    for the whole plan or a plan item, for every household of the project's estates or the
    named buildings'. The project's owner, its county or the prefecture."""
    project = load_project(project_id)
    staff = auth.current_staff()
    policy.require_manages_project(staff, project)
    scheme = service.create(project, staff, args)
    commit()
    return _detail(scheme)


@blp.get("/contribution-schemes/<int:scheme_id>")
@auth.token_required
@blp.response(200, SchemeDetailSchema)
@blp.errors(401, 403, 404)
def get_scheme(scheme_id):
    """The scheme with its summary: households, total against the funding line, the rounding
    rule, the majority its matter needs, the linked decision. Staff in scope and verified
    residents of its project's estates."""
    scheme, _ = visible_scheme(scheme_id)
    return _detail(scheme)


@blp.patch("/contribution-schemes/<int:scheme_id>")
@auth.staff_required
@blp.arguments(SchemePatchArgs)
@blp.response(200, SchemeDetailSchema)
@blp.errors(401, 403, 404, 409, 422)
def patch_scheme(args, scheme_id):
    """Amend a draft scheme (409 `scheme_not_draft` once adopted or cancelled). Its terms
    (basis, rate, plan item, buildings, funding line, due date, matter) cannot change once its
    linked owners' decision has opened (409 `scheme_under_decision`); changed before that,
    they need a decision drawn up after the change."""
    _, project = managed_scheme(scheme_id)
    scheme = service.patch(service.lock(scheme_id), project, args)
    commit()
    return _detail(scheme)


@blp.put("/contribution-schemes/<int:scheme_id>/decision")
@auth.staff_required
@blp.arguments(DecisionLinkArgs)
@blp.response(200, SchemeDetailSchema)
@blp.errors(401, 403, 404, 409, 422)
def link_decision(args, scheme_id):
    """Link the owners' decision that is to adopt the draft (an `owners_decision` of the same
    project on the scheme's matter; it may still be a draft or open). One decision adopts one
    scheme: one that adopted another is refused (409 `decision_already_used`)."""
    managed_scheme(scheme_id)
    scheme = service.link_decision(service.lock(scheme_id), args["consultation_id"])
    commit()
    return _detail(scheme)


@blp.post("/contribution-schemes/<int:scheme_id>/adopt")
@auth.staff_required
@blp.response(200, SchemeDetailSchema)
@blp.errors(401, 403, 404, 409)
def adopt_scheme(scheme_id):
    """Adopt the draft by its linked owners' decision, which must be final and passed in every
    estate the scheme's households lie in (409 `decision_not_passed`, `details.reason`:
    `not_linked`, `wrong_project`, `wrong_matter`, `decision_already_used` (it adopted another
    scheme), `terms_changed` (drawn up before the scheme's terms last changed: the owners
    voted on other terms), `not_final`, `failed` with `failed_estate_ids`). Each household's
    amount is frozen with the area it was computed from."""
    _, project = managed_scheme(scheme_id)
    scheme = service.adopt(scheme_id, project)
    commit()
    return _detail(scheme)


@blp.post("/contribution-schemes/<int:scheme_id>/cancel")
@auth.staff_required
@blp.arguments(CancelArgs)
@blp.response(200, SchemeDetailSchema)
@blp.errors(401, 403, 404, 409, 422)
def cancel_scheme(args, scheme_id):
    """Cancel a draft or adopted scheme, with the reason (409 `scheme_cancelled` when it
    already is). What households paid is refunded by refund entries."""
    managed_scheme(scheme_id)
    scheme = service.cancel(scheme_id, args["reason"])
    commit()
    return _detail(scheme)


# --- households, figures, publicity, export ---------------------------------------------------


@blp.get("/contribution-schemes/<int:scheme_id>/households")
@auth.staff_required
@blp.arguments(HouseholdsArgs, location="query")
@blp.response(200, HouseholdsPageSchema)
@blp.errors(401, 403, 404, 422)
def scheme_households(args, scheme_id):
    """One page of the scheme's households: place, owner (masked), area, amount, pledge,
    paid and outstanding fen; a draft's amounts computed now (`provisional`). Staff in scope."""
    scheme, _ = staff_scheme(scheme_id)
    return reads.households(scheme, args)


@blp.get("/contribution-schemes/<int:scheme_id>/figures")
@auth.token_required
@blp.response(200, FiguresSchema)
@blp.errors(401, 403, 404)
def scheme_figures(scheme_id):
    """The scheme's totals and figures per building (pledged, declined, paid in full, partly,
    unpaid; due, paid, outstanding, refunded, overpaid fen) and its total against the funding
    line: staff in scope and verified residents of its estates."""
    scheme, _ = visible_scheme(scheme_id)
    return reads.figures(scheme)


@blp.get("/contribution-schemes/<int:scheme_id>/publicity")
@auth.token_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, PublicitySchema)
@blp.errors(401, 403, 404, 422)
def scheme_publicity(args, scheme_id):
    """The publicity list (公示): each household's place, its owner masked (张*), amount, paid
    and pledge; and the project's spending against its funding lines. Verified residents of
    its estates and staff in scope."""
    scheme, _ = visible_scheme(scheme_id)
    return reads.publicity(scheme, args)


@blp.get("/contribution-schemes/<int:scheme_id>/export.xlsx")
@auth.staff_required
@blp.errors(401, 403, 404)
@download_doc(XLSX, "the scheme's workbook: households, entries, figures per building")
def export_scheme(scheme_id):
    """The scheme as an Excel workbook (sheets 户, 缴退款记录, 楼栋统计), owners masked: staff
    in scope."""
    scheme, project = staff_scheme(scheme_id)
    return download(
        reads.workbook(scheme, project),
        XLSX,
        f"居民出资-{scheme.title}.xlsx",
        f"contribution-scheme-{scheme.id}.xlsx",
    )


# --- pledges -------------------------------------------------------------------------------------


@blp.put("/contribution-schemes/<int:scheme_id>/pledges/<int:household_id>")
@auth.login_required
@blp.arguments(PledgeArgs)
@blp.response(200, PledgeSchema)
@blp.errors(401, 403, 404, 409, 422)
def put_pledge(args, scheme_id, household_id):
    """The household's pledge (承诺出资) or decline with a reason (暂不出资); the latest answer
    stands. A verified owner or family member of the household (a tenant: 403
    `tenant_cannot_pledge`), or a committee clerk of its community at the desk (its county,
    the prefecture). Only on an adopted scheme (409 `scheme_not_adopted`); after the due date
    it is still allowed."""
    scheme, project = visible_scheme(scheme_id)
    household = db.session.get(Household, household_id)
    if household is None or household.estate_id not in {e.id for e in project.estates}:
        raise service.HouseholdNotInScheme()
    service.require_may_pledge(auth.current_caller(), household)
    pledge = service.pledge(scheme, household, auth.current_caller(), args)
    commit()
    return pledge


# --- a resident's own --------------------------------------------------------------------------


@blp.get("/me/contributions")
@auth.resident_required
@blp.response(200, MyHouseholdContributionsSchema(many=True))
@blp.errors(401, 403)
def my_contributions():
    """For each household the resident is a verified member of: the schemes covering it
    (drafts too, `provisional`), its amount and the basis in words, the due date, its pledge,
    paid and outstanding fen."""
    return reads.resident_view(auth.current_resident())
