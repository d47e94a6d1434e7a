"""Projects, their plans, lifecycle and the satisfaction gate; the county overview."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import joinedload, selectinload

from api import auth
from api.core import NotFound, commit, db, get_or_404, local_today
from api.http import Blueprint, PageArgs, page_schema, paginate
from feedback import queries as feedback_queries
from feedback.service import plan_attachments, warranty
from participation import policy, queries
from participation.models import County, Estate, Plan, Project, Resident
from participation.schemas.projects import (
    CountyOverviewSchema,
    OverviewArgs,
    PlanArgs,
    PlanSchema,
    PrefectureOverviewSchema,
    ProjectArgs,
    ProjectFilter,
    ProjectPatchArgs,
    ProjectSchema,
    ProjectSummarySchema,
    TransitionArgs,
)
from participation.service import projects as project_service
from voting.jobs import catch_up
from voting.queries import consultations, gate, visibility
from voting.schemas import GateSchema

blp = Blueprint("projects", __name__, url_prefix="/api/v1", description="Projects and plans")


def load_project(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None:
        raise policy.ProjectNotFound()
    return project


@contextmanager
def hidden_as(not_found: type[NotFound]) -> Iterator[None]:
    """Inside, a project out of the caller's sight answers as the id the path names: a
    consultation, a plan or a comment of a project the caller may not know of is a missing
    consultation, plan or comment (the same status, code and message), not a missing project
    that would confirm the id exists."""
    try:
        yield
    except policy.ProjectNotFound:
        raise not_found() from None


# How a project's estates are loaded for staff, whose reach is judged from them.
STAFF_ESTATES = joinedload(Project.estates)


def visible_reading(project_id: int | None = None, *, via=None, options=(), staff_estates=True):
    """The caller and the project, if the caller may see it (staff in scope, or a verified
    resident of one of its estates), read in one statement (`queries.caller_reading`): the
    caller first (401 when the account is gone, as `auth.current_caller` answers), then the 404
    of a missing project, to anyone who may not see it too, so that ids do not leak.

    `via=(column, value)` reaches the project through another row (a consultation's).
    `options` (a tuple built once) load what the screen shows with the project; for staff the
    project's estates are joined in too unless `staff_estates` is false (`options` load them).
    """
    kind, caller_id = auth.token_claims()
    model = auth.caller_model(kind)
    if model is not Resident and staff_estates:
        options = (*options, STAFF_ESTATES)
    reading = queries.caller_reading(model, caller_id, project_id, via=via, options=options)
    caller = auth.keep_caller(reading.caller if reading is not None else None)
    if reading.project is None:
        raise policy.ProjectNotFound()
    if isinstance(caller, Resident):
        if not reading.sees:
            raise policy.ProjectNotFound()
    else:
        policy.require_sees_project(caller, reading.project)
    return reading


def visible_project(project_id: int, options=(), staff_estates=True) -> Project:
    """The project, if the caller may see it (`visible_reading`)."""
    return visible_reading(project_id, options=options, staff_estates=staff_estates).project


def resident_project(project_id: int) -> tuple[Project, Resident]:
    """The project and the calling resident, a verified resident of one of its estates."""
    resident = auth.current_resident()
    return visible_project(project_id), resident


def with_attachments(plans: list[Plan]) -> list[visibility.Shown]:
    """Each plan as its reply shows it, with its attachments (the feedback domain's rows,
    since the files are uploads: one statement for them all, none for no plan)."""
    attached = feedback_queries.plan_attachments([plan.id for plan in plans])
    return [visibility.Shown(plan, attachments=attached[plan.id]) for plan in plans]


def _with_open_consultations(project: Project) -> visibility.Shown:
    """The project as its reply shows it: its current plan with the items (one statement, not
    every version) and its attachments (one more), the consultations open on it (voting's
    read: participation knows nothing of consultations) and its gate result as the caller may
    see it now (`voting.queries.visibility`: hidden from residents until the close), read with
    the open consultations in one statement."""
    open_now, gate_rows = consultations.open_and_gate(project.id, project.gate_consultation_id)
    shown = visibility.redact_project(project, auth.current_caller(), gate_rows)
    plan = queries.current_plan(project.id)
    return visibility.Shown(
        shown,
        current_plan=with_attachments([plan])[0] if plan is not None else None,
        open_consultations=open_now,
    )


# What the project's reply shows beside the project row: its estates (a second statement, so
# that a bundled project's estates do not multiply the rows), funding lines and milestones
# (joined: a few rows each).
PROJECT_SCREEN = (
    selectinload(Project.estates),
    joinedload(Project.funding),
    joinedload(Project.milestones),
)


@blp.post("/projects")
@auth.staff_required
@blp.arguments(ProjectArgs)
@blp.response(201, ProjectSchema)
@blp.errors(401, 403, 404, 422)
def create_project(args):
    """Enter a project in the reserve list (county officers or the prefecture)."""
    project = project_service.create_project(args)
    county = db.session.get(County, project.county_id)
    policy.require_county(auth.current_staff(), county)
    commit()
    return _with_open_consultations(project)


class ProjectListArgs(ProjectFilter, PageArgs):
    pass


@blp.get("/projects")
@auth.staff_required
@blp.arguments(ProjectListArgs, location="query")
@blp.response(200, page_schema(ProjectSummarySchema, "StaffProjectPage"))
@blp.errors(401, 403, 422)
def list_projects(args):
    """The projects the calling staff member sees, the latest plan year first (the console's
    项目): the prefecture every one, a county officer their county's, a committee those covering
    its community's estates, an owner its own. Staff only (403 `staff_only`): residents find
    theirs by estate (`GET /estates/{id}/projects`)."""
    staff = auth.current_staff()
    filters = {
        k: args[k] for k in ("plan_year", "status", "category", "county_id", "q") if k in args
    }
    page = paginate(queries.staff_projects(policy.project_scope(staff), **filters), args)
    page["items"] = visibility.redact_projects(page["items"], staff)
    return page


@blp.get("/projects/<int:project_id>")
@auth.token_required
@blp.response(200, ProjectSchema)
@blp.errors(401, 403, 404)
def get_project(project_id):
    """The project with status, milestones (overdue flagged), current plan, open
    consultations and satisfaction fields (while the gate vote is open, the satisfaction rate
    is null for residents, and for staff below RESULTS_MIN_BALLOTS: `results_hidden`)."""
    project = visible_project(project_id, PROJECT_SCREEN, staff_estates=False)
    return _with_open_consultations(project)


@blp.patch("/projects/<int:project_id>")
@auth.staff_required
@blp.arguments(ProjectPatchArgs)
@blp.response(200, ProjectSchema)
@blp.errors(401, 403, 404, 409, 422)
def patch_project(args, project_id):
    """Change a project's details, funding lines, or record milestones' actual dates.

    `funding` replaces the lines: one with an `id` keeps that line of the project (changed in
    place), one without is new, a line left out is removed — unless a contribution scheme or an
    expense names it (409 `funding_line_in_use`)."""
    project = load_project(project_id)
    policy.require_manages_project(auth.current_staff(), project)
    project_service.update_project(project, args)
    commit()
    return _with_open_consultations(project)


@blp.get("/estates/<int:estate_id>/projects")
@auth.login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(ProjectSummarySchema, "ProjectPage"))
@blp.errors(401, 403, 404)
def estate_projects(args, estate_id):
    """The renovation projects covering an estate."""
    estate = get_or_404(Estate, estate_id, "estate_not_found", "找不到该小区")
    caller = auth.current_caller()
    if isinstance(caller, Resident):
        policy.require_resident_sees_estate(caller, estate.id)
    else:
        policy.require_staff_sees_estate(caller, estate)
    page = paginate(queries.estate_projects(estate), args)
    page["items"] = visibility.redact_projects(page["items"], caller)
    return page


@blp.post("/projects/<int:project_id>/plans")
@auth.staff_required
@blp.arguments(PlanArgs)
@blp.response(201, PlanSchema)
@blp.errors(401, 403, 404, 409, 422)
def create_plan(args, project_id):
    """A new plan version with its attachments, written together; a version never changes
    after (nor do its attachments: a change is a new version)."""
    project = load_project(project_id)
    staff = auth.current_staff()
    policy.require_manages_project(staff, project)
    plan = project_service.create_plan(project, staff, args)
    plan_attachments.attach(project, plan, staff, args["attachments"])
    commit()
    return with_attachments([plan])[0]


@blp.get("/projects/<int:project_id>/plans")
@auth.login_required
@blp.response(200, PlanSchema(many=True))
@blp.errors(401, 403, 404)
def list_plans(project_id):
    """Every plan version with its attachments, oldest first."""
    return with_attachments(visible_project(project_id).plans)


@blp.get("/projects/<int:project_id>/plans/current")
@auth.login_required
@blp.response(200, PlanSchema)
@blp.errors(401, 403, 404)
def current_plan(project_id):
    """The current (latest) plan version with its items and attachments."""
    plan = visible_project(project_id).current_plan
    if plan is None:
        raise NotFound("该项目还没有改造方案", code="plan_not_found")
    return with_attachments([plan])[0]


@blp.post("/projects/<int:project_id>/transitions")
@auth.staff_required
@blp.arguments(TransitionArgs)
@blp.response(200, ProjectSchema)
@blp.errors(401, 403, 404, 409, 422)
def transition(args, project_id):
    """Move the project one step; to `construction` only through the satisfaction gate, to
    `accepted` only with a joint acceptance record without a `fail`; entering `completed`
    opens the 30-day rating window."""
    project = load_project(project_id)
    staff = auth.current_staff()
    policy.require_manages_project(staff, project)
    project_service.transition(project, staff, args["to"])
    commit()
    return _with_open_consultations(project)


@blp.get("/projects/<int:project_id>/gate")
@auth.token_required
@blp.response(200, GateSchema)
@blp.errors(401, 403, 404)
def get_gate(project_id):
    """Whether the current plan passes the satisfaction gate, with the numbers used. Until the
    close residents see participation only, and staff see the live result only once
    RESULTS_MIN_BALLOTS households voted: otherwise counts per choice and rates are withheld
    and `results_hidden` says why."""
    project = visible_project(project_id)
    read = gate.gate_read(project)
    if read.consultation is not None:
        status = read.consultation.status
        catch_up(read.consultation)
        if read.consultation.status != status:  # opened or closed just now: read it again
            read = gate.gate_read(project, fresh=True)
    return visibility.redact_gate(
        gate.gate_view(project, read), auth.current_caller(), read.consultation
    )


@blp.get("/counties/<int:county_id>/overview")
@auth.staff_required
@blp.arguments(OverviewArgs, location="query")
@blp.response(200, CountyOverviewSchema)
@blp.errors(401, 403, 404, 422)
def county_overview(args, county_id):
    """Progress for the annual assessment (the console's 概览), of one plan year or of all:
    projects by status and by category, gates passed and shut, completion satisfaction, the
    milestones overdue against their due dates, the warranty problems not resolved, and the
    projects. The county's officers and the prefecture."""
    county = get_or_404(County, county_id, "county_not_found", "找不到该县市")
    staff = auth.current_staff()
    policy.require_county(staff, county)
    overview = queries.county_overview(county, local_today(), args.get("plan_year"))
    # The tickets are feedback's: their figures join participation's here.
    open_tickets = warranty.open_warranty_tickets([p.id for p in overview["projects"]])
    overview["open_warranty_tickets"] = sum(open_tickets.values())
    overview["projects"] = [
        visibility.Shown(shown, open_warranty_tickets=open_tickets.get(shown.id, 0))
        for shown in visibility.redact_projects(overview["projects"], staff)
    ]
    return overview


class OverviewPageArgs(OverviewArgs, PageArgs):
    pass


@blp.get("/overview")
@auth.staff_required
@blp.arguments(OverviewPageArgs, location="query")
@blp.response(200, PrefectureOverviewSchema)
@blp.errors(401, 403, 422)
def prefecture_overview(args):
    """Every county side by side (the prefecture's 概览), a page of counties in id order, each
    with its figures of one plan year or of all (as `GET /counties/{id}/overview` gives them,
    without the lists). The prefecture only: a county officer reads their own county's."""
    policy.require_prefecture(auth.current_staff())
    page = paginate(queries.counties(), args)
    county_ids = [c.id for c in page["items"]]
    figures = queries.overview_summaries(county_ids, local_today(), args.get("plan_year"))
    open_tickets = warranty.open_warranty_tickets_by_county(county_ids, args.get("plan_year"))
    page["items"] = [
        {
            "county_id": c.id,
            "county_name": c.name,
            **figures[c.id],
            "open_warranty_tickets": open_tickets.get(c.id, 0),
        }
        for c in page["items"]
    ]
    return {**page, "plan_year": args.get("plan_year")}
