"""Comments on projects and plan versions: posting, replies, reports, likes, moderation."""

from sqlalchemy import select

from api import auth
from api.core import commit, db
from api.http import Blueprint, PageArgs, page_schema, paginate
from api.routes.projects import hidden_as, load_project, visible_project
from feedback import jobs, policy, queries
from feedback.models import Comment
from feedback.schemas.comments import (
    CommentArgs,
    CommentFilter,
    CommentReplyArgs,
    CommentReplySchema,
    CommentSchema,
    LikeSchema,
    ModerationArgs,
    ModerationItemSchema,
    ModerationQueueFilter,
    ReportArgs,
    ReportSchema,
)
from feedback.service import comments, moderation
from participation.models import Plan, Project, Resident
from participation.policy import (
    PlanNotFound,
    project_scope,
    require_resident_sees_project,
    sees_project,
)

blp = Blueprint("comments", __name__, url_prefix="/api/v1", description="Comments")


class CommentQuery(PageArgs, CommentFilter):
    pass


class ModerationQuery(PageArgs, ModerationQueueFilter):
    pass


def _plan(plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFound()
    return plan


def _comment(comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise policy.CommentNotFound()
    return comment


def _dump(shown: list[Comment]) -> list[Comment]:
    """Likes, the caller's like and authorship, official replies, and for staff the moderation
    details."""
    caller = auth.current_caller()
    resident_id = caller.id if isinstance(caller, Resident) else None
    queries.with_likes(shown, resident_id)
    replies = moderation.replies_of([comment.id for comment in shown])
    for comment in shown:
        comment.official_replies = replies.get(comment.id, [])
        # An erased author's comment has none (None): it is nobody's, staff's least of all.
        comment.mine = resident_id is not None and comment.author_id == resident_id
        comment.for_staff = resident_id is None
    return shown


def _post(project, plan, args):
    resident = auth.current_resident()
    require_resident_sees_project(resident, project)
    comment = comments.post(project, plan, resident, args)
    if comment.status == "pending_check":
        jobs.request_recheck(comment.id)
    commit()
    return _dump([comment])[0]


def _list(project, plan, args):
    caller = auth.current_caller()
    is_staff = not isinstance(caller, Resident)
    statement = queries.comments_of(
        project, plan, caller, staff=is_staff, status=args.get("status")
    )
    page = paginate(statement, args)
    _dump(page["items"])
    return page


@blp.post("/projects/<int:project_id>/comments")
@auth.resident_required
@blp.arguments(CommentArgs)
@blp.response(201, CommentSchema)
@blp.errors(401, 403, 404, 422)
def comment_on_project(args, project_id):
    """Comment on the project (or reply with `parent_id`). WeChat checks the text first:
    risky text is refused (422 `content_risky`); text held for review, or not yet checked
    because WeChat is unreachable, is kept and shown to others only once it passes."""
    return _post(load_project(project_id), None, args)


@blp.get("/projects/<int:project_id>/comments")
@auth.login_required
@blp.arguments(CommentQuery, location="query")
@blp.response(200, page_schema(CommentSchema, "CommentPage"))
@blp.errors(401, 403, 404, 422)
def project_comments(args, project_id):
    """Comments on the project: visible ones (and the caller's own) for residents, with like
    counts; every comment, with its status, for staff in scope."""
    return _list(visible_project(project_id), None, args)


@blp.post("/plans/<int:plan_id>/comments")
@auth.resident_required
@blp.arguments(CommentArgs)
@blp.response(201, CommentSchema)
@blp.errors(401, 403, 404, 422)
def comment_on_plan(args, plan_id):
    """Comment on a plan version (or reply), through the same content check."""
    plan = _plan(plan_id)
    with hidden_as(PlanNotFound):
        return _post(load_project(plan.project_id), plan, args)


@blp.get("/plans/<int:plan_id>/comments")
@auth.login_required
@blp.arguments(CommentQuery, location="query")
@blp.response(200, page_schema(CommentSchema, "PlanCommentPage"))
@blp.errors(401, 403, 404, 422)
def plan_comments(args, plan_id):
    """Comments on a plan version, as for a project."""
    plan = _plan(plan_id)
    with hidden_as(PlanNotFound):
        project = visible_project(plan.project_id)
    return _list(project, plan, args)


def _resident_comment(comment_id: int):
    """The comment and the calling resident, a verified resident of one of its project's
    estates; to anyone else the comment does not exist."""
    comment = _comment(comment_id)
    resident = auth.current_resident()
    with hidden_as(policy.CommentNotFound):
        require_resident_sees_project(resident, load_project(comment.project_id))
    return comment, resident


@blp.post("/comments/<int:comment_id>/report")
@auth.resident_required
@blp.arguments(ReportArgs)
@blp.response(201, ReportSchema)
@blp.errors(401, 403, 404, 409, 422)
def report_comment(args, comment_id):
    """Report a comment, once per resident; three reports hide it until a clerk decides."""
    comment, resident = _resident_comment(comment_id)
    comment = comments.report(comment, resident, args.get("reason"))
    commit()
    return comment


def _like_reply(comment: Comment, liked: bool) -> dict:
    return {
        "comment_id": comment.id,
        "liked": liked,
        "likes": queries.like_count(comment.id),
    }


@blp.put("/comments/<int:comment_id>/like")
@auth.resident_required
@blp.response(200, LikeSchema)
@blp.errors(401, 403, 404)
def like_comment(comment_id):
    """Like a visible comment (one like per resident; liking again changes nothing)."""
    comment, resident = _resident_comment(comment_id)
    comments.like(comment, resident)
    commit()
    return _like_reply(comment, True)


@blp.delete("/comments/<int:comment_id>/like")
@auth.resident_required
@blp.response(200, LikeSchema)
@blp.errors(401, 403, 404)
def unlike_comment(comment_id):
    """Take the caller's like back."""
    comment, resident = _resident_comment(comment_id)
    comments.unlike(comment, resident)
    commit()
    return _like_reply(comment, False)


def _moderated_comment(comment_id: int):
    """The comment and the staff member, if they clerk its project (404 out of scope)."""
    comment = _comment(comment_id)
    staff = auth.current_staff()
    policy.require_moderates_comments(staff, load_project(comment.project_id))
    return comment, staff


@blp.post("/comments/<int:comment_id>/hide")
@auth.staff_required
@blp.arguments(ModerationArgs)
@blp.response(200, CommentSchema)
@blp.errors(401, 403, 404, 409, 422)
def hide_comment(args, comment_id):
    """A clerk of a covered community (or county, prefecture) hides a comment, with a reason."""
    comment, staff = _moderated_comment(comment_id)
    comment = comments.hide(comment, staff, args["reason"])
    commit()
    return _dump([comment])[0]


@blp.post("/comments/<int:comment_id>/restore")
@auth.staff_required
@blp.arguments(ModerationArgs)
@blp.response(200, CommentSchema)
@blp.errors(401, 403, 404, 409, 422)
def restore_comment(args, comment_id):
    """A clerk shows a hidden, reported or held comment again, with a reason."""
    comment, staff = _moderated_comment(comment_id)
    comment = comments.restore(comment, staff, args["reason"])
    commit()
    return _dump([comment])[0]


# --- the staff's queue and official replies ---------------------------------------------------


@blp.get("/comments/moderation")
@auth.staff_required
@blp.arguments(ModerationQuery, location="query")
@blp.response(200, page_schema(ModerationItemSchema, "ModerationQueuePage"))
@blp.errors(401, 403, 404, 422)
def moderation_queue(args):
    """The moderation queue across the projects the caller sees, the latest change first:
    comments reported by residents, held by WeChat for review, waiting for WeChat's check, and
    hidden (or of one `status`; of one `project_id`). Each with its project's name, the
    moderation details, official replies, and what the caller may do with it now: moderate (a
    clerk of the project: its communities' committee, its county, the prefecture), hide or
    restore it from its status, answer it (a visible comment; its communities' committee, its
    owner)."""
    staff = auth.current_staff()
    project_id = args.get("project_id")
    if project_id is not None:
        visible_project(project_id)
    statement = moderation.queue(
        project_scope(staff), status=args.get("status"), project_id=project_id
    )
    page = paginate(statement, args)
    _dump(page["items"])
    projects = {
        p.id: p
        for p in db.session.scalars(
            select(Project).where(Project.id.in_({c.project_id for c in page["items"]}))
        )
    }
    for comment in page["items"]:
        project = projects[comment.project_id]
        comment.project_name = project.name
        comment.may_moderate = policy.clerks_project(staff, project)
        comment.may_hide = comment.may_moderate and comment.status in comments.HIDEABLE
        comment.may_restore = comment.may_moderate and comment.status in comments.RESTORABLE
        comment.may_reply = (
            comment.status == "visible" and moderation.replier_role(staff, project) is not None
        )
    return page


@blp.post("/comments/<int:comment_id>/replies")
@auth.staff_required
@blp.arguments(CommentReplyArgs)
@blp.response(201, CommentReplySchema)
@blp.errors(401, 403, 404, 409, 422)
def reply_to_comment(args, comment_id):
    """An official reply (官方回复) to a visible comment (409 `comment_not_visible` for any
    other), at most 1000 characters, by the committee of the project's communities or its
    owner (403 `out_of_scope` for others who see the project; 404 to those who do not). Shown
    under the comment, to residents too, with the role, never the replier's name."""
    comment = _comment(comment_id)
    staff = auth.current_staff()
    project = load_project(comment.project_id)
    if not sees_project(staff, project):
        raise policy.CommentNotFound()
    role = moderation.require_replier(staff, project)
    reply = moderation.reply(comment, staff, role, args["body"])
    commit()
    return reply
