"""Residents on the building site: supervisor sign-ups, photos, inspections, problem tickets."""

from flask import send_file

from api import auth
from api.core import NotFound, commit, get_or_404
from api.http import Blueprint, PageArgs, allow_upload, page_schema, paginate
from api.routes.projects import load_project, resident_project, visible_project
from feedback import policy, queries
from feedback.models import SupervisorSignup, Ticket, Upload
from feedback.schemas.supervision import (
    DeclineArgs,
    MySignupSchema,
    SignupArgs,
    SignupFilter,
    SignupSchema,
)
from feedback.schemas.tickets import (
    AnswerArgs,
    ConfirmArgs,
    InspectionArgs,
    InspectionSchema,
    ProblemArgs,
    ReopenArgs,
    TicketDetailSchema,
    TicketFilter,
    TicketSchema,
)
from feedback.schemas.uploads import UploadArgs, UploadSchema
from feedback.service import supervision, tickets, uploads
from participation.models import Resident

blp = Blueprint(
    "supervision", __name__, url_prefix="/api/v1", description="Supervision and problem tickets"
)


class SignupQuery(PageArgs, SignupFilter):
    pass


class TicketQuery(PageArgs, TicketFilter):
    pass


def _signup(signup_id: int) -> SupervisorSignup:
    return get_or_404(SupervisorSignup, signup_id, "signup_not_found", "找不到该报名")


def _reviewable_signup(signup_id: int):
    """The sign-up and the staff member, if they clerk its project (404 out of scope)."""
    signup = _signup(signup_id)
    staff = auth.current_staff()
    policy.require_reviews_signups(staff, load_project(signup.project_id))
    return signup, staff


# --- supervisors ------------------------------------------------------------------------------


@blp.post("/projects/<int:project_id>/supervisors")
@auth.resident_required
@blp.arguments(SignupArgs)
@blp.response(201, SignupSchema)
@blp.errors(401, 403, 404, 409, 422)
def sign_up(args, project_id):
    """Sign up to supervise the project's construction (pending until the committee decides)."""
    project, resident = resident_project(project_id)
    signup = supervision.sign_up(project, resident, args)
    commit()
    return signup


@blp.get("/projects/<int:project_id>/supervisors")
@auth.login_required
@blp.arguments(SignupQuery, location="query")
@blp.response(200, page_schema(SignupSchema, "SupervisorPage"))
@blp.errors(401, 403, 404, 422)
def list_supervisors(args, project_id):
    """Residents of the estates: the accepted roster, masked. Staff in scope: every sign-up."""
    project = visible_project(project_id)
    is_staff = not isinstance(auth.current_caller(), Resident)
    page = paginate(queries.roster(project, everyone=is_staff, status=args.get("status")), args)
    for signup in page["items"]:
        signup.public = not is_staff
    return page


@blp.get("/me/supervision")
@auth.resident_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(MySignupSchema, "MySupervisionPage"))
@blp.errors(401, 403, 422)
def my_supervision(args):
    """The caller's own supervisor sign-ups across projects, newest first: pending, accepted,
    declined (with the committee's reason) or withdrawn."""
    return paginate(queries.resident_signups(auth.current_resident()), args)


@blp.post("/supervisors/<int:signup_id>/accept")
@auth.staff_required
@blp.response(200, SignupSchema)
@blp.errors(401, 403, 404, 409)
def accept_supervisor(signup_id):
    """Accept a sign-up (the committee, its county, the prefecture); 409 at the project's cap."""
    signup, staff = _reviewable_signup(signup_id)
    supervision.accept(signup, staff)
    commit()
    return signup


@blp.post("/supervisors/<int:signup_id>/decline")
@auth.staff_required
@blp.arguments(DeclineArgs)
@blp.response(200, SignupSchema)
@blp.errors(401, 403, 404, 409, 422)
def decline_supervisor(args, signup_id):
    """Decline a sign-up with a reason the resident sees."""
    signup, staff = _reviewable_signup(signup_id)
    supervision.decline(signup, staff, args["reason"])
    commit()
    return signup


@blp.post("/supervisors/<int:signup_id>/withdraw")
@auth.resident_required
@blp.response(200, SignupSchema)
@blp.errors(401, 403, 404, 409)
def withdraw_supervisor(signup_id):
    """The resident withdraws their own sign-up (pending or accepted)."""
    signup = _signup(signup_id)
    resident = auth.current_resident()
    policy.require_own_signup(signup, resident)
    supervision.withdraw(signup, resident)
    commit()
    return signup


# --- photos -----------------------------------------------------------------------------------


@blp.post("/projects/<int:project_id>/uploads")
@allow_upload
@auth.login_required
@blp.arguments(UploadArgs, location="files")
@blp.response(201, UploadSchema)
@blp.errors(401, 403, 404, 413, 422)
def upload_photo(files, project_id):
    """Upload one file (multipart field `file`, at most 10 MiB; its type read from its bytes,
    never its name) of this project: a JPEG, PNG or WebP image from a verified resident of its
    estates (an inspection's or a problem report's photo, a power of attorney) or from staff who
    see the project (a paper ballot's form, a plan's drawing, a progress photo); a PDF (a plan
    document) from the project's owner, its county or the prefecture only (422
    `file_type_unsupported` for anyone else). A staff member's file is shown to staff who see
    the project, and to the residents of its estates only once it is published: attached to a
    plan version or to a progress update."""
    if isinstance(auth.current_caller(), Resident):
        project, uploader = resident_project(project_id)
    else:
        uploader = auth.current_staff()
        project = visible_project(project_id)
    documents = policy.may_upload_documents(uploader, project)
    upload = uploads.store(project, uploader, files["file"].stream, documents=documents)
    commit()
    return upload


@blp.get("/uploads/<int:upload_id>")
@auth.login_required
@blp.doc(
    responses={
        "200": {
            "description": "the file",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in ("image/jpeg", "image/png", "image/webp", "application/pdf")
            },
        }
    }
)
@blp.errors(401, 404)
def get_upload(upload_id):
    """The file itself: for the resident who uploaded it and staff who see its project; a
    staff member's file for staff who see its project, and for verified residents of the
    project's estates once published (a plan version's attachment, a progress photo)."""
    upload = get_or_404(Upload, upload_id, "upload_not_found", "找不到该文件")
    path = uploads.file_path(upload)
    if not policy.sees_upload(auth.current_caller(), upload) or not path.is_file():
        raise NotFound("找不到该文件", code="upload_not_found")
    response = send_file(path, mimetype=upload.content_type, max_age=0, etag=upload.sha256)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


# --- inspections and problem reports ----------------------------------------------------------


@blp.post("/projects/<int:project_id>/inspections")
@auth.resident_required
@blp.arguments(InspectionArgs)
@blp.response(201, InspectionSchema)
@blp.errors(401, 403, 404, 409, 422)
def file_inspection(args, project_id):
    """An accepted supervisor's inspection report; one that finds a problem opens a ticket."""
    project, resident = resident_project(project_id)
    inspection = tickets.file_inspection(project, resident, args)
    commit()
    return inspection


@blp.get("/projects/<int:project_id>/inspections")
@auth.login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(InspectionSchema, "InspectionPage"))
@blp.errors(401, 403, 404, 422)
def list_inspections(args, project_id):
    """Staff in scope: every inspection report; a resident: their own."""
    project = visible_project(project_id)
    caller = auth.current_caller()
    supervisor = caller if isinstance(caller, Resident) else None
    return paginate(queries.inspections_of(project, supervisor), args)


@blp.post("/projects/<int:project_id>/problems")
@auth.resident_required
@blp.arguments(ProblemArgs)
@blp.response(201, TicketDetailSchema)
@blp.errors(401, 403, 404, 409, 422)
def report_problem(args, project_id):
    """Any verified resident of the estates reports a problem: a ticket the owner answers."""
    project, resident = resident_project(project_id)
    ticket = tickets.report_problem(project, resident, args)
    commit()
    return ticket


# --- tickets ----------------------------------------------------------------------------------


def _visible_ticket(ticket_id: int) -> Ticket:
    """The ticket for its reporter or staff who see its project (404 for anyone else)."""
    ticket = get_or_404(Ticket, ticket_id, "ticket_not_found", "找不到该工单")
    if not policy.sees_ticket(auth.current_caller(), ticket):
        raise NotFound("找不到该工单", code="ticket_not_found")
    return ticket


@blp.get("/projects/<int:project_id>/tickets")
@auth.login_required
@blp.arguments(TicketQuery, location="query")
@blp.response(200, page_schema(TicketSchema, "TicketPage"))
@blp.errors(401, 403, 404, 422)
def list_tickets(args, project_id):
    """Staff in scope: every ticket of the project (`overdue=true`: waiting past due;
    `phase=warranty`: those raised in the warranty period); a resident: the tickets they
    opened."""
    project = visible_project(project_id)
    caller = auth.current_caller()
    reporter = caller if isinstance(caller, Resident) else None
    statement = queries.tickets_of(
        project,
        reporter,
        status=args.get("status"),
        overdue=args.get("overdue"),
        phase=args.get("phase"),
    )
    return paginate(statement, args)


@blp.get("/tickets/<int:ticket_id>")
@auth.login_required
@blp.response(200, TicketDetailSchema)
@blp.errors(401, 404)
def get_ticket(ticket_id):
    """A ticket with every step it went through."""
    return _visible_ticket(ticket_id)


@blp.post("/tickets/<int:ticket_id>/answer")
@auth.staff_required
@blp.arguments(AnswerArgs)
@blp.response(200, TicketDetailSchema)
@blp.errors(401, 403, 404, 409, 422)
def answer_ticket(args, ticket_id):
    """The project owner (or county, prefecture) answers an open or reopened ticket, with
    photos if any (`photo_ids`: their own uploads of the project; the reporter sees them)."""
    ticket = _visible_ticket(ticket_id)
    staff = auth.current_staff()
    policy.require_answers_ticket(staff, load_project(ticket.project_id))
    ticket = tickets.answer(ticket, staff, args["answer"], args["photo_ids"])
    commit()
    return ticket


@blp.post("/tickets/<int:ticket_id>/confirm")
@auth.resident_required
@blp.arguments(ConfirmArgs)
@blp.response(200, TicketDetailSchema)
@blp.errors(401, 403, 404, 409, 422)
def confirm_ticket(args, ticket_id):
    """The reporter confirms the answer resolved the problem."""
    ticket = _visible_ticket(ticket_id)
    ticket = tickets.confirm(ticket, auth.current_resident(), args.get("remarks"))
    commit()
    return ticket


@blp.post("/tickets/<int:ticket_id>/reopen")
@auth.resident_required
@blp.arguments(ReopenArgs)
@blp.response(200, TicketDetailSchema)
@blp.errors(401, 403, 404, 409, 422)
def reopen_ticket(args, ticket_id):
    """The reporter is not satisfied: the ticket waits for a new answer (3 more working days)."""
    ticket = _visible_ticket(ticket_id)
    ticket = tickets.reopen(ticket, auth.current_resident(), args["reason"])
    commit()
    return ticket
