"""What the delegation endpoints (委托投票) take and give."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from api.core import labels
from api.core.codes import code, label
from api.core.fields import id_field, text
from voting.models import DELEGATION_STATUSES, RELATIONS


class DelegationArgs(ma.Schema):
    class Meta:
        description = (
            "An owner entrusts the household's vote in an owners' decision to another member: "
            "`delegate_id` must be a verified member of the household at the opening who is not "
            "one of its owners (422 `delegate_not_in_household`, `delegate_is_owner`); "
            "`power_of_attorney_upload_id` a photo of the signed power of attorney (委托书) the "
            "caller uploaded for this project (422 `upload_invalid`; 422 `upload_published` for "
            "a plan's attachment or a progress photo). `household_id` is needed "
            "from an owner of several households (422 `household_required`) and always from "
            "the committee, which records for an owner without a phone (422 "
            "`household_not_in_electorate`). Only in an owners' decision (422 "
            "`delegation_not_applicable`), while it is open (409 `consultation_not_open`, "
            "`consultation_closed`), one live delegation per household (409 "
            "`delegation_exists`)."
        )

    household_id = id_field()
    delegate_id = id_field(required=True)
    power_of_attorney_upload_id = id_field(required=True)
    note = text(200)


class RejectionArgs(ma.Schema):
    reason = text(200, required=True)


class CandidateSchema(ma.Schema):
    household_id = fields.Integer()
    resident_id = fields.Integer()
    nickname = fields.String(allow_none=True, metadata={"description": "masked"})
    relation = code(RELATIONS, metadata={"description": "tenant or family, at the opening"})
    relation_label = label(labels.RELATIONS, "relation")


class DelegationSchema(ma.Schema):
    id = fields.Integer()
    consultation_id = fields.Integer()
    household_id = fields.Integer()
    household = fields.String(metadata={"description": "masked address, e.g. 1栋1单元1**"})
    owner_id = fields.Integer(
        allow_none=True, metadata={"description": "null: recorded by the committee"}
    )
    owner = fields.String(allow_none=True, metadata={"description": "masked nickname"})
    delegate_id = fields.Integer()
    delegate = fields.String(allow_none=True, metadata={"description": "masked nickname"})
    delegate_relation = code(RELATIONS, allow_none=True)
    delegate_relation_label = label(labels.RELATIONS, "delegate_relation", allow_none=True)
    power_of_attorney_upload_id = fields.Integer()
    note = fields.String(allow_none=True)
    status = code(
        DELEGATION_STATUSES, metadata={"description": "pending, verified, rejected, revoked"}
    )
    status_label = label(labels.DELEGATION_STATUSES, "status")
    recorded_by_committee = fields.Boolean()
    reason = fields.String(allow_none=True, metadata={"description": "why it was rejected"})
    reviewed_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
