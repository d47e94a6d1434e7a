"""What the residents' reasons endpoints take and give: opinions per plan item, the comments
(no household identity) and the official replies under them."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from api.core import labels
from api.core.codes import code, label
from api.core.fields import query_id, text
from participation.models import PLAN_ITEM_CATEGORIES


class ItemOpinionsSchema(ma.Schema):
    plan_item_id = fields.Integer()
    position = fields.Integer()
    category = code(PLAN_ITEM_CATEGORIES)
    category_label = label(labels.PLAN_ITEM_CATEGORIES, "category")
    description = fields.String()
    support = fields.Integer(metadata={"description": "households supporting the item"})
    oppose = fields.Integer(metadata={"description": "households opposing the item"})
    neutral = fields.Integer(metadata={"description": "households neutral on the item"})
    comments = fields.Integer(metadata={"description": "households that commented on it"})


class OpinionsSchema(ma.Schema):
    consultation_id = fields.Integer()
    plan_id = fields.Integer(allow_none=True)
    final = fields.Boolean(metadata={"description": "the consultation is closed"})
    voted = fields.Integer(metadata={"description": "households with a ballot"})
    eligible = fields.Integer()
    ballot_comments = fields.Integer(
        metadata={"description": "ballots that carry a comment on the plan as a whole"}
    )
    items = fields.List(fields.Nested(ItemOpinionsSchema))


class OpinionReplySchema(ma.Schema):
    """An official reply (官方回复): the replier's role, never the staff member's name."""

    id = fields.Integer()
    official = fields.Boolean(dump_default=True, metadata={"description": "always true"})
    role = code(labels.REPLIER_ROLES, metadata={"description": "`committee` or `owner`"})
    role_label = label(
        labels.REPLIER_ROLES, "role", metadata={"description": "社区居委会 or 建设单位"}
    )
    body = fields.String()
    in_reply_to = fields.String(
        attribute="comment_text", metadata={"description": "the comment as it was replied to"}
    )
    created_at = fields.DateTime()


class BallotCommentSchema(ma.Schema):
    """A resident's comment, with no household identity and no time."""

    id = fields.String(metadata={"description": "an opaque id (the path of a reply)"})
    plan_item_id = fields.Integer(
        allow_none=True, metadata={"description": "null: a comment on the plan as a whole"}
    )
    opinion = code(
        labels.OPINIONS,
        allow_none=True,
        metadata={"description": "support, oppose or neutral on the item; null on the whole"},
    )
    opinion_label = label(labels.OPINIONS, "opinion", allow_none=True)
    body = fields.String()
    replies = fields.List(fields.Nested(OpinionReplySchema))


class BallotCommentFilter(ma.Schema):
    plan_item_id = query_id(metadata={"description": "only the comments on this plan item"})


class OpinionReplyArgs(ma.Schema):
    body = text(1000, required=True)
