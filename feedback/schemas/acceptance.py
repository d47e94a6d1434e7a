"""What the acceptance endpoints take and give."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels
from api.core.codes import code, keyed_labels, label
from api.core.fields import Date, Text, id_field, mask_name, text
from feedback.models.acceptance import PARTY_ROLES, VERDICTS


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
    class Meta:
        description = (
            "`held_on` may not be after today (422 `held_on_in_future`). `parties` has one party "
            "of each role, design, construction and supervision (422 `parties_invalid`). "
            "`representatives` are distinct (422 `representatives_repeated`) verified residents "
            "of the project's estates (422 `representative_not_eligible`)."
        )

    held_on = Date(required=True)
    parties = fields.List(
        fields.Nested(PartyArgs), required=True, validate=validate.Length(min=1, max=10)
    )
    representatives = fields.List(
        fields.Nested(RepresentativeArgs), required=True, validate=validate.Length(min=1, max=50)
    )
    remarks = Text(validate=validate.Length(max=5000), allow_none=True)


class PartySchema(ma.Schema):
    role = code(PARTY_ROLES)
    role_label = label(labels.PARTY_ROLES, "role")
    name = fields.String()
    verdict = code(VERDICTS)
    verdict_label = label(labels.VERDICTS, "verdict")
    remarks = fields.String(allow_none=True)


class RepresentativeSchema(ma.Schema):
    nickname = fields.Function(lambda r: mask_name(r.resident.nickname))
    verdict = code(VERDICTS)
    verdict_label = label(labels.VERDICTS, "verdict")
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
    completion_means_labels = keyed_labels(
        labels.RATING_DIMENSIONS, "completion_means", allow_none=True
    )
    completion_ratings = fields.Integer()
    completion_computed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


# --- representatives picked by search ---------------------------------------------------------


class RepresentativeCandidateFilter(ma.Schema):
    q = text(
        50,
        metadata={"description": "part of a claimed name, a nickname, a building or a room"},
    )


class RepresentativeCandidateSchema(ma.Schema):
    """A verified resident of one of the project's estates, with the household: names masked,
    the room as the roster names it, nothing else (no phone, no relation)."""

    resident_id = fields.Integer()
    household_id = fields.Integer()
    name = fields.Function(
        lambda c: mask_name(c.claimed_name),
        metadata={"type": "string", "description": "the name claimed, masked: 张*"},
    )
    nickname = fields.Function(
        lambda c: mask_name(c.resident.nickname),
        allow_none=True,
        metadata={"type": "string", "description": "masked"},
    )
    estate = fields.String(attribute="household.estate.name")
    building = fields.String(attribute="household.building.name")
    unit = fields.String(attribute="household.unit")
    room = fields.String(attribute="household.room")


# --- documents ------------------------------------------------------------------------------


class AcceptanceDocumentArgs(ma.Schema):
    class Meta:
        description = (
            "`upload_id` is the caller's own upload of this project, a PDF or an image, not "
            "shown to residents and not yet attached (422 `upload_invalid`, `upload_published`, "
            "`upload_duplicate`)."
        )

    upload_id = id_field(
        required=True, metadata={"description": "from POST /projects/{id}/uploads"}
    )
    title = text(200, required=True, metadata={"description": "e.g. 竣工验收报告"})


class AcceptanceDocumentSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    upload_id = fields.Integer()
    title = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    url = fields.Function(lambda d: f"/api/v1/uploads/{d.upload_id}", metadata={"type": "string"})
    created_at = fields.DateTime()
