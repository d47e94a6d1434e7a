"""What the rating endpoints take and give, and the completion satisfaction."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels, utcnow
from api.core.codes import code, keyed_labels, label
from api.core.fields import Text, id_field, query_id
from feedback.models.ratings import DIMENSIONS, RATING_WINDOW
from feedback.policy import window_open
from participation.models import STATUSES as PROJECT_STATUSES


def _opened(closes_at):
    """The rating window's opening: `RATING_WINDOW` before it closes."""
    return None if closes_at is None else (closes_at - RATING_WINDOW).isoformat()


def score():
    return fields.Integer(strict=True, required=True, validate=validate.Range(1, 5))


class RatingArgs(ma.Schema):
    quality = score()
    environment = score()
    facilities = score()
    site_management = score()
    overall = score()
    comment = Text(validate=validate.Length(max=500), allow_none=True)
    household_id = id_field(
        metadata={"description": "needed only by members of several covered households"}
    )


class MyRatingQuery(ma.Schema):
    household_id = query_id(
        metadata={"description": "needed only by members of several covered households"}
    )


class RatingSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    household_id = fields.Integer()
    quality = fields.Integer()
    environment = fields.Integer()
    facilities = fields.Integer()
    site_management = fields.Integer()
    overall = fields.Integer()
    comment = fields.String(allow_none=True)
    revision = fields.Integer()
    updated_at = fields.DateTime()


class CompletionSchema(ma.Schema):
    project_id = fields.Integer(attribute="id")
    status = code(PROJECT_STATUSES)
    status_label = label(labels.PROJECT_STATUSES, "status")
    rating_opens_at = fields.Function(
        lambda p: _opened(p.rating_closes_at),
        metadata={
            "type": "string",
            "format": "date-time",
            "nullable": True,
            "description": "when the rating window opened (the project's completion)",
        },
    )
    rating_closes_at = fields.DateTime(allow_none=True)
    rating_open = fields.Function(lambda p: window_open(p, utcnow()))
    satisfaction_rate = fields.Float(attribute="completion_satisfaction_rate", allow_none=True)
    means = fields.Dict(
        attribute="completion_means",
        keys=fields.String(),
        values=fields.Float(allow_none=True),
        allow_none=True,
        metadata={"description": f"mean score 1–5 of each of {', '.join(DIMENSIONS)}"},
    )
    means_labels = keyed_labels(labels.RATING_DIMENSIONS, "completion_means", allow_none=True)
    ratings = fields.Integer(attribute="completion_ratings")
    computed_at = fields.DateTime(attribute="completion_computed_at", allow_none=True)
    rule = fields.Constant("满意度=整体评价4分及以上的户数/参与评价的户数；各项均分保留两位小数")


class RatingFilter(ma.Schema):
    commented = fields.Boolean(
        metadata={"description": "true: only ratings with a comment; false: only those without"}
    )


class RatedSchema(ma.Schema):
    """A household's rating as staff read it: the scores and the comment, no household."""

    id = fields.Integer()
    quality = fields.Integer()
    environment = fields.Integer()
    facilities = fields.Integer()
    site_management = fields.Integer()
    overall = fields.Integer()
    comment = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class DimensionScoresSchema(ma.Schema):
    dimension = code(DIMENSIONS)
    dimension_label = fields.String(metadata={"description": "the Chinese label of `dimension`"})
    counts = fields.List(
        fields.Integer(), metadata={"description": "households that gave 1, 2, 3, 4 and 5"}
    )


class DistributionSchema(ma.Schema):
    project_id = fields.Integer()
    ratings = fields.Integer(metadata={"description": "households that rated"})
    dimensions = fields.List(fields.Nested(DimensionScoresSchema))
