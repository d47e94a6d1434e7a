"""What the feedback endpoints take (`…Args`) and give (`…Schema`)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import utcnow
from api.core.fields import Text, id_field, mask_name, text
from feedback.acceptance import PARTY_ROLES, VERDICTS
from feedback.comments import COMMENT_STATUSES
from feedback.ratings import DIMENSIONS, window_open
from feedback.tickets import ASPECTS, SEVERITIES, TICKET_STATUSES
from feedback.uploads import MAX_PHOTOS

# --- uploads ----------------------------------------------------------------------------------


class UploadArgs(ma.Schema):
    """One image as multipart field `file` (what wx.uploadFile sends)."""

    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class UploadSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    url = fields.Function(lambda u: f"/api/v1/uploads/{u.id}")
    created_at = fields.DateTime()


class PhotoSchema(ma.Schema):
    id = fields.Integer()
    content_type = fields.String()
    url = fields.Function(lambda u: f"/api/v1/uploads/{u.id}")


def photo_ids():
    return fields.List(
        id_field(),
        load_default=list,
        validate=validate.Length(max=MAX_PHOTOS),
        metadata={"description": "ids from POST /projects/{id}/uploads, by the same resident"},
    )


def aspects(**kwargs):
    return fields.List(
        fields.String(validate=validate.OneOf(ASPECTS)),
        validate=validate.Length(min=1, max=len(ASPECTS)),
        **kwargs,
    )


# --- inspections and tickets ------------------------------------------------------------------


class InspectionArgs(ma.Schema):
    aspects = aspects(required=True)
    findings = text(2000, required=True)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    location = text(200, allow_none=True)
    photo_ids = photo_ids()


class ProblemArgs(ma.Schema):
    aspects = aspects(load_default=lambda: ["other"])
    description = text(2000, required=True)
    severity = fields.String(load_default="minor", validate=validate.OneOf(SEVERITIES[1:]))
    location = text(200, allow_none=True)
    photo_ids = photo_ids()


class AnswerArgs(ma.Schema):
    answer = text(2000, required=True)


class ConfirmArgs(ma.Schema):
    remarks = text(500, allow_none=True)


class ReopenArgs(ma.Schema):
    reason = text(500, required=True)


class TicketFilter(ma.Schema):
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES))
    overdue = fields.Boolean(metadata={"description": "only tickets waiting past their due time"})


class TicketEventSchema(ma.Schema):
    kind = fields.String()
    by = fields.Function(lambda e: "staff" if e.staff_id else "reporter")
    body = fields.String(allow_none=True)
    late = fields.Boolean()
    due_at = fields.DateTime(allow_none=True)
    at = fields.DateTime()


class TicketSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    source = fields.String()
    inspection_id = fields.Integer(allow_none=True)
    aspects = fields.List(fields.String())
    description = fields.String()
    location = fields.String(allow_none=True)
    severity = fields.String()
    status = fields.String()
    due_at = fields.DateTime()
    overdue = fields.Function(lambda t: t.overdue(utcnow()))
    opened_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    reopen_count = fields.Integer()
    photos = fields.List(fields.Nested(PhotoSchema))


class TicketDetailSchema(TicketSchema):
    events = fields.List(fields.Nested(TicketEventSchema))


class InspectionSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    aspects = fields.List(fields.String())
    findings = fields.String()
    severity = fields.String()
    location = fields.String(allow_none=True)
    has_problem = fields.Boolean()
    photos = fields.List(fields.Nested(PhotoSchema))
    ticket = fields.Nested(TicketSchema, allow_none=True)
    created_at = fields.DateTime()


# --- ratings and the completion satisfaction --------------------------------------------------


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
    status = fields.String()
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
    ratings = fields.Integer(attribute="completion_ratings")
    computed_at = fields.DateTime(attribute="completion_computed_at", allow_none=True)
    rule = fields.Constant("满意度=整体评价4分及以上的户数/参与评价的户数；各项均分保留两位小数")


# --- acceptance -------------------------------------------------------------------------------


class PartyArgs(ma.Schema):
    role = fields.String(required=True, validate=validate.OneOf(PARTY_ROLES))
    name = text(200, required=True)
    verdict = fields.String(required=True, validate=validate.OneOf(VERDICTS))
    remarks = Text(validate=validate.Length(max=2000), allow_none=True)


class RepresentativeArgs(ma.Schema):
    resident_id = id_field(required=True)
    verdict = fields.String(required=True, validate=validate.OneOf(VERDICTS))
    remarks = Text(validate=validate.Length(max=2000), allow_none=True)


class AcceptanceArgs(ma.Schema):
    held_on = fields.Date(required=True)
    parties = fields.List(
        fields.Nested(PartyArgs), required=True, validate=validate.Length(min=1, max=10)
    )
    representatives = fields.List(
        fields.Nested(RepresentativeArgs), required=True, validate=validate.Length(min=1, max=50)
    )
    remarks = Text(validate=validate.Length(max=5000), allow_none=True)


class PartySchema(ma.Schema):
    role = fields.String()
    name = fields.String()
    verdict = fields.String()
    remarks = fields.String(allow_none=True)


class RepresentativeSchema(ma.Schema):
    nickname = fields.Function(lambda r: mask_name(r.resident.nickname))
    verdict = fields.String()
    remarks = fields.String(allow_none=True)


class AcceptanceSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    held_on = fields.Date()
    remarks = fields.String(allow_none=True)
    passed = fields.Boolean()
    parties = fields.List(fields.Nested(PartySchema))
    representatives = fields.List(fields.Nested(RepresentativeSchema))
    completion_satisfaction_rate = fields.Float(allow_none=True)
    completion_means = fields.Dict(
        keys=fields.String(), values=fields.Float(allow_none=True), allow_none=True
    )
    completion_ratings = fields.Integer()
    completion_computed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


# --- comments ---------------------------------------------------------------------------------


class CommentArgs(ma.Schema):
    body = text(1000, required=True)
    parent_id = id_field(allow_none=True, metadata={"description": "the comment replied to"})


class CommentFilter(ma.Schema):
    status = fields.String(
        validate=validate.OneOf(COMMENT_STATUSES), metadata={"description": "staff only"}
    )


class ReportArgs(ma.Schema):
    reason = text(200, allow_none=True)


class ModerationArgs(ma.Schema):
    reason = text(500, required=True)


class ModerationSchema(ma.Schema):
    report_count = fields.Integer()
    status_reason = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)


class CommentSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    plan_id = fields.Integer(allow_none=True)
    parent_id = fields.Integer(allow_none=True)
    author = fields.Function(lambda c: mask_name(c.author.nickname))
    mine = fields.Boolean()
    body = fields.String()
    status = fields.String()
    likes = fields.Integer()
    liked = fields.Boolean()
    created_at = fields.DateTime()
    moderation = fields.Method(
        "_moderation",
        allow_none=True,
        metadata={"description": "staff only: reports, the last decision's reason and time"},
    )

    def _moderation(self, comment):
        if not getattr(comment, "for_staff", False):
            return None
        return ModerationSchema().dump(comment)


class LikeSchema(ma.Schema):
    comment_id = fields.Integer()
    liked = fields.Boolean()
    likes = fields.Integer()


class ReportSchema(ma.Schema):
    comment_id = fields.Integer(attribute="id")
    reported = fields.Constant(True)
    status = fields.String(metadata={"description": "`reported` once hidden by reports"})
