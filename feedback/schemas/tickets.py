"""What the inspection, problem and ticket endpoints take (`…Args`) and give (`…Schema`)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels, utcnow
from api.core.codes import code, label, labels_of
from api.core.fields import id_field, text
from feedback.models.tickets import (
    ASPECTS,
    EVENT_KINDS,
    PHASES,
    SEVERITIES,
    SOURCES,
    TICKET_STATUSES,
)
from feedback.models.uploads import MAX_PHOTOS
from feedback.schemas.uploads import PhotoSchema, photo_ids


def aspects(**kwargs):
    """What a report is about: one or more of `ASPECTS`."""
    return fields.List(
        fields.String(validate=validate.OneOf(ASPECTS)),
        validate=validate.Length(min=1, max=len(ASPECTS)),
        **kwargs,
    )


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
    photo_ids = fields.List(
        id_field(),
        load_default=list,
        validate=validate.Length(max=MAX_PHOTOS),
        metadata={
            "description": "photos of the answer (at most 9): ids from "
            "POST /projects/{id}/uploads by the same staff member; the reporter sees them"
        },
    )


class ConfirmArgs(ma.Schema):
    remarks = text(500, allow_none=True)


class ReopenArgs(ma.Schema):
    reason = text(500, required=True)


class TicketFilter(ma.Schema):
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES))
    overdue = fields.Boolean(metadata={"description": "only tickets waiting past their due time"})
    phase = fields.String(
        validate=validate.OneOf(PHASES),
        metadata={"description": "only tickets raised during the works, or in the warranty period"},
    )


class TicketEventSchema(ma.Schema):
    kind = code(EVENT_KINDS)
    kind_label = label(labels.TICKET_EVENT_KINDS, "kind")
    by = fields.Function(
        lambda e: "staff" if e.staff_id else "reporter",
        metadata={"type": "string", "enum": list(labels.TICKET_ACTORS)},
    )
    by_label = fields.Function(
        lambda e: labels.TICKET_ACTORS["staff" if e.staff_id else "reporter"],
        metadata={"type": "string", "description": "the Chinese label of `by`"},
    )
    body = fields.String(allow_none=True)
    late = fields.Boolean()
    due_at = fields.DateTime(allow_none=True)
    at = fields.DateTime()
    photos = fields.List(
        fields.Nested(PhotoSchema), metadata={"description": "an answer's photos (staff's)"}
    )


class TicketSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    source = code(SOURCES)
    source_label = label(labels.TICKET_SOURCES, "source")
    inspection_id = fields.Integer(allow_none=True)
    aspects = fields.List(code(ASPECTS))
    aspects_labels = labels_of(labels.ASPECTS, "aspects")
    description = fields.String()
    location = fields.String(allow_none=True)
    severity = code(SEVERITIES)
    severity_label = label(labels.SEVERITIES, "severity")
    status = code(TICKET_STATUSES)
    status_label = label(labels.TICKET_STATUSES, "status")
    phase = code(
        PHASES,
        metadata={"description": "raised during the works, or in the warranty period (保修期)"},
    )
    phase_label = label(labels.TICKET_PHASES, "phase")
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
    aspects = fields.List(code(ASPECTS))
    aspects_labels = labels_of(labels.ASPECTS, "aspects")
    findings = fields.String()
    severity = code(SEVERITIES)
    severity_label = label(labels.SEVERITIES, "severity")
    location = fields.String(allow_none=True)
    has_problem = fields.Boolean()
    photos = fields.List(fields.Nested(PhotoSchema))
    ticket = fields.Nested(TicketSchema, allow_none=True)
    created_at = fields.DateTime()


class HomeTicketSchema(ma.Schema):
    """One of the resident's unresolved tickets, as their home screen lists it
    (`feedback.queries.OpenTicket`)."""

    id = fields.Integer(attribute="ticket.id")
    project_id = fields.Integer(attribute="ticket.project_id")
    project_name = fields.String()
    description = fields.String(
        attribute="ticket.description",
        metadata={"description": "what the resident reported: which ticket this is"},
    )
    status = code(
        [s for s in TICKET_STATUSES if s != "resolved"],
        attribute="ticket.status",
        metadata={"description": "open, answered (waiting for the reporter) or reopened"},
    )
    status_label = label(
        labels.TICKET_STATUSES,
        "ticket.status",
        metadata={"description": "the Chinese label of `status`"},
    )
    overdue = fields.Function(
        lambda row: row.ticket.overdue(utcnow()),
        metadata={"type": "boolean", "description": "waiting for an answer past its due time"},
    )
    created_at = fields.DateTime(attribute="ticket.opened_at")
