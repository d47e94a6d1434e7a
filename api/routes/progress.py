"""A project's progress as residents follow it: its timeline (history and what is due) and the
progress updates its managers publish (进度公示)."""

from sqlalchemy.orm import selectinload

from api import auth
from api.core import commit, local_today, utcnow
from api.http import Blueprint, PageArgs, page_schema, paginate
from api.routes.projects import load_project, visible_project
from feedback import queries as feedback_queries
from feedback.schemas.progress import ProgressArgs, ProgressSchema, progress_entries
from feedback.service import progress
from participation import policy
from participation.models import Project
from participation.schemas.timeline import TimelineEntrySchema, in_time_order, project_entries
from voting.queries import consultations
from voting.schemas.timeline import consultation_entries

blp = Blueprint(
    "progress", __name__, url_prefix="/api/v1", description="Project timeline and progress updates"
)

# What participation's part of the timeline reads with the project: a statement each.
TIMELINE = (
    selectinload(Project.transitions),
    selectinload(Project.plans),
    selectinload(Project.milestones),
)


@blp.get("/projects/<int:project_id>/timeline")
@auth.token_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(TimelineEntrySchema, "TimelinePage"))
@blp.errors(401, 403, 404, 422)
def timeline(args, project_id):
    """The project's history and what is to come, oldest first: its lifecycle transitions,
    plan versions, milestones (at the date met, or at the due date while open, `overdue`
    flagged), consultations opened and closed (or closing), progress updates. Whoever sees the
    project (verified residents of its estates, staff in scope) sees it all; to anyone else
    the project does not exist (404)."""
    project = visible_project(project_id, TIMELINE)
    entries = [
        *project_entries(project, local_today()),
        *consultation_entries(consultations.project_consultations(project.id)),
        *progress_entries(feedback_queries.progress_counts(project.id)),
    ]
    ordered = in_time_order(entries, utcnow())
    page, per_page = args["page"], args["per_page"]
    start = (page - 1) * per_page
    return {
        "items": ordered[start : start + per_page],
        "page": page,
        "per_page": per_page,
        "total": len(ordered),
    }


@blp.post("/projects/<int:project_id>/progress")
@auth.staff_required
@blp.arguments(ProgressArgs)
@blp.response(201, ProgressSchema)
@blp.errors(401, 403, 404, 409, 422)
def post_progress(args, project_id):
    """Publish a progress update (进度公示) with text and up to 9 photos: the project's owner,
    its county or the prefecture, while it is under construction or completed and not yet
    accepted. The households of its estates get a notice."""
    project = load_project(project_id)
    staff = auth.current_staff()
    policy.require_manages_project(staff, project)
    update = progress.post(project, staff, args)
    commit()
    return update


@blp.get("/projects/<int:project_id>/progress")
@auth.login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(ProgressSchema, "ProgressPage"))
@blp.errors(401, 403, 404, 422)
def list_progress(args, project_id):
    """The project's progress updates, newest first, with their photos (each fetched at its
    `url`): for verified residents of its estates and staff in scope."""
    return paginate(feedback_queries.progress_of(visible_project(project_id)), args)
