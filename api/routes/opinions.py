"""Residents' reasons (居民意见): opinions per plan item, comments, and official replies."""

from api import auth
from api.core import Forbidden, NotFound, commit
from api.http import Blueprint, PageArgs, page_schema
from api.routes.voting import visible_consultation
from voting import jobs
from voting.models import Consultation
from voting.queries import opinions, visibility
from voting.schemas.opinions import (
    BallotCommentFilter,
    BallotCommentSchema,
    OpinionReplyArgs,
    OpinionReplySchema,
    OpinionsSchema,
)
from voting.service import replies

blp = Blueprint(
    "opinions", __name__, url_prefix="/api/v1", description="Residents' reasons and replies"
)


class BallotCommentQuery(PageArgs, BallotCommentFilter):
    pass


class CommentNotFound(NotFound):
    code = "comment_not_found"
    message = "找不到该意见"


def _readable_consultation(consultation_id: int) -> Consultation:
    """The consultation, if the caller sees it and may read its residents' reasons now: after
    the close for its residents and staff in scope; while open, staff once
    RESULTS_MIN_BALLOTS households voted (403 `results_not_published` / `too_few_ballots`)."""
    consultation, _ = visible_consultation(consultation_id)
    jobs.catch_up(consultation)
    voted = opinions.ballots_cast(consultation.id)
    reason = visibility.hidden_reason(consultation, auth.current_caller(), voted)
    if reason == visibility.UNTIL_CLOSE:
        raise Forbidden("表决结束后公布居民意见", code="results_not_published")
    if reason == visibility.TOO_FEW_BALLOTS:
        floor = visibility.min_ballots()
        raise Forbidden(
            f"投票户数达到{floor}户后方可查看居民意见",
            code="too_few_ballots",
            details={"voted": voted, "min_ballots": floor},
        )
    return consultation


@blp.get("/consultations/<int:consultation_id>/opinions")
@auth.login_required
@blp.response(200, OpinionsSchema)
@blp.errors(401, 403, 404)
def get_opinions(consultation_id):
    """Per plan item: households supporting, opposing and neutral, and how many commented;
    with no household identity. Residents after the close; staff in scope after the close, or
    while open once RESULTS_MIN_BALLOTS households voted."""
    return opinions.opinion_counts(_readable_consultation(consultation_id))


@blp.get("/consultations/<int:consultation_id>/comments")
@auth.login_required
@blp.arguments(BallotCommentQuery, location="query")
@blp.response(200, page_schema(BallotCommentSchema, "BallotCommentPage"))
@blp.errors(401, 403, 404, 422)
def list_comments(args, consultation_id):
    """Residents' comments on the plan and on its items (only `plan_item_id`'s when given),
    each with an opaque id, no household, no time, and the official replies under it. Who may
    read them and when: as for /opinions."""
    consultation = _readable_consultation(consultation_id)
    return opinions.comments_page(
        consultation, args["page"], args["per_page"], args.get("plan_item_id")
    )


@blp.post("/consultations/<int:consultation_id>/comments/<comment_id>/replies")
@auth.staff_required
@blp.arguments(OpinionReplyArgs)
@blp.response(201, OpinionReplySchema)
@blp.errors(401, 403, 404, 422)
def reply_to_comment(args, consultation_id, comment_id):
    """An official reply to a resident's comment (at most 1000 characters), by the committee of
    the project's communities or the project's owner (403 `out_of_scope` for others who see
    the project); shown under the comment with the role, never the replier's name. 404
    `comment_not_found` for an id that is not one of this consultation's comments."""
    consultation, project = visible_consultation(consultation_id)
    staff = auth.current_staff()
    role = replies.require_replier(staff, project)
    consultation = _readable_consultation(consultation_id)
    comment = opinions.find_comment(consultation, comment_id)
    if comment is None:
        raise CommentNotFound()
    reply = replies.reply(consultation, comment, staff, role, args["body"])
    commit()
    return reply
