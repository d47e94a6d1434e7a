"""What the comment endpoints take and give."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels
from api.core.codes import code, label
from api.core.fields import id_field, mask_name, query_id, text
from feedback.models.comments import COMMENT_STATUSES


class CommentArgs(ma.Schema):
    class Meta:
        description = (
            "`parent_id`, when given, is a visible comment on the same project and plan (422 "
            "`parent_invalid`)."
        )

    body = text(1000, required=True)
    parent_id = id_field(allow_none=True, metadata={"description": "the comment replied to"})


class CommentFilter(ma.Schema):
    status = fields.String(
        validate=validate.OneOf(COMMENT_STATUSES), metadata={"description": "staff only"}
    )


class ModerationQueueFilter(ma.Schema):
    status = fields.String(
        validate=validate.OneOf(COMMENT_STATUSES),
        metadata={
            "description": "one status; without it: reported, held for review, waiting for "
            "WeChat's check, hidden, and any comment with reports"
        },
    )
    project_id = query_id(metadata={"description": "one project the caller sees"})


class CommentReplyArgs(ma.Schema):
    body = text(1000, required=True)


class CommentReplySchema(ma.Schema):
    """An official reply (官方回复): the replier's role, never the staff member's name."""

    id = fields.Integer()
    comment_id = fields.Integer()
    role = code(labels.REPLIER_ROLES, metadata={"description": "`committee` or `owner`"})
    role_label = label(labels.REPLIER_ROLES, "role")
    body = fields.String()
    created_at = fields.DateTime()


class ReportArgs(ma.Schema):
    reason = text(200, allow_none=True)


class ModerationArgs(ma.Schema):
    reason = text(500, required=True)


class ModerationSchema(ma.Schema):
    report_count = fields.Integer()
    status_reason = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)


# Who wrote a comment whose author erased their personal data (`DELETE /me`).
ERASED_AUTHOR = "已注销用户"


def _author(comment) -> str | None:
    if comment.author is None:
        return ERASED_AUTHOR
    return mask_name(comment.author.nickname)


class CommentSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    plan_id = fields.Integer(allow_none=True)
    parent_id = fields.Integer(allow_none=True)
    author = fields.Function(
        _author, metadata={"description": "masked nickname; 已注销用户 once the author is erased"}
    )
    mine = fields.Boolean()
    body = fields.String()
    status = code(COMMENT_STATUSES)
    status_label = label(labels.COMMENT_STATUSES, "status")
    likes = fields.Integer()
    liked = fields.Boolean()
    created_at = fields.DateTime()
    official_replies = fields.List(
        fields.Nested(CommentReplySchema),
        metadata={"description": "the committee's or the owner's replies, oldest first"},
    )
    moderation = fields.Method(
        "_moderation",
        allow_none=True,
        metadata={"description": "staff only: reports, the last decision's reason and time"},
    )

    def _moderation(self, comment):
        if not getattr(comment, "for_staff", False):
            return None
        return ModerationSchema().dump(comment)


class ModerationItemSchema(CommentSchema):
    """A comment in the moderation queue, with its project and what the caller may do."""

    project_name = fields.String()
    may_moderate = fields.Boolean(metadata={"description": "a clerk of its project"})
    may_hide = fields.Boolean(metadata={"description": "the clerk may hide it now"})
    may_restore = fields.Boolean(metadata={"description": "the clerk may show it again now"})
    may_reply = fields.Boolean(
        metadata={"description": "an official reply now (committee, owner; a visible comment)"}
    )


class LikeSchema(ma.Schema):
    comment_id = fields.Integer()
    liked = fields.Boolean()
    likes = fields.Integer()


class ReportSchema(ma.Schema):
    comment_id = fields.Integer(attribute="id")
    reported = fields.Constant(True)
    status = code(COMMENT_STATUSES, metadata={"description": "`reported` once hidden by reports"})
    status_label = label(labels.COMMENT_STATUSES, "status")
