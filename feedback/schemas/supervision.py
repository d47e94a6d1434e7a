"""What the supervisor endpoints take (`…Args`) and give (`…Schema`)."""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels
from api.core.codes import code, label, labels_of
from api.core.fields import Text, id_field, mask_name, text
from feedback.models.supervision import SIGNUP_STATUSES, WEEKDAYS


class SignupArgs(ma.Schema):
    trade = text(50, allow_none=True, metadata={"description": "what they can offer: 电工, 水暖…"})
    days_available = fields.List(
        fields.String(validate=validate.OneOf(WEEKDAYS)),
        load_default=list,
        validate=validate.Length(max=7),
        metadata={"description": "weekdays they can come: mon … sun"},
    )
    note = Text(validate=validate.Length(max=500), allow_none=True)
    household_id = id_field(
        metadata={"description": "needed only by members of several covered households"}
    )


class DeclineArgs(ma.Schema):
    reason = text(500, required=True)


class SignupFilter(ma.Schema):
    status = fields.String(validate=validate.OneOf(SIGNUP_STATUSES))


def _private(name):
    """A field shown to staff and to the resident who signed up, `null` on the public roster
    (the view marks roster entries with `public = True`)."""

    def value(signup):
        if getattr(signup, "public", False):
            return None
        found = getattr(signup, name)
        return found.isoformat() if isinstance(found, datetime) else found

    return fields.Function(value, allow_none=True)


class SignupSchema(ma.Schema):
    """A sign-up; the name is masked for everyone, the note and the review only on the
    resident's own and for staff."""

    id = fields.Integer()
    project_id = fields.Integer()
    nickname = fields.Function(lambda s: mask_name(s.resident.nickname))
    trade = fields.String(allow_none=True)
    days_available = fields.List(code(WEEKDAYS))
    days_available_labels = labels_of(labels.WEEKDAYS, "days_available")
    status = code(SIGNUP_STATUSES)
    status_label = label(labels.SIGNUP_STATUSES, "status")
    note = _private("note")
    reason = _private("reason")
    reviewed_at = _private("reviewed_at")
    created_at = fields.DateTime()


class MySignupSchema(ma.Schema):
    """One of the caller's own sign-ups, across projects: where it stands and, if declined,
    why."""

    id = fields.Integer()
    project_id = fields.Integer()
    project_name = fields.Function(lambda s: s.project.name, metadata={"type": "string"})
    trade = fields.String(allow_none=True)
    days_available = fields.List(code(WEEKDAYS))
    days_available_labels = labels_of(labels.WEEKDAYS, "days_available")
    note = fields.String(allow_none=True)
    status = code(SIGNUP_STATUSES)
    status_label = label(labels.SIGNUP_STATUSES, "status")
    reason = fields.String(
        allow_none=True, metadata={"description": "the committee's reason when declined"}
    )
    created_at = fields.DateTime()
    decided_at = fields.DateTime(
        attribute="reviewed_at", allow_none=True, metadata={"description": "accepted or declined"}
    )
    withdrawn_at = fields.DateTime(allow_none=True)
