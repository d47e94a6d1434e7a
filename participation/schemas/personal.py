"""What `GET /me/export` gives: everything held about the caller, one section per kind of
record, each built by the domain that holds it (`<domain>/service/personal.py` `export`)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from api.core import labels
from api.core.codes import code, label, labels_of

_EXPORT_DESCRIPTION = (
    "Everything held about the signed-in resident (PIPL art. 45), one list per kind of record, "
    "oldest first. Uploads are described, not included (their bytes are photos of the site or of "
    "a signed form). Staff who reviewed or answered are never named."
)


def _list(schema, description: str):
    return fields.List(fields.Nested(schema), metadata={"description": description})


class ExportedResidentSchema(ma.Schema):
    id = fields.Integer()
    openid = fields.String()
    unionid = fields.String(allow_none=True)
    nickname = fields.String(allow_none=True)
    created_at = fields.DateTime()
    last_login_at = fields.DateTime()


class ExportedConsentSchema(ma.Schema):
    version = fields.String()
    accepted_at = fields.DateTime()


class ExportedClaimSchema(ma.Schema):
    id = fields.Integer()
    household_id = fields.Integer()
    estate_id = fields.Integer()
    relation = code(labels.RELATIONS)
    relation_label = label(labels.RELATIONS, "relation")
    claimed_name = fields.String(metadata={"description": "as the resident typed it"})
    claimed_phone_last4 = fields.String(metadata={"description": "as the resident typed it"})
    status = code(labels.CLAIM_STATUSES)
    status_label = label(labels.CLAIM_STATUSES, "status")
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True, metadata={"description": "left or revoked"})


class ExportedMembershipSchema(ma.Schema):
    household_id = fields.Integer()
    estate_id = fields.Integer()
    estate = fields.String()
    building = fields.String()
    unit = fields.String()
    room = fields.String()
    relation = code(labels.RELATIONS)
    relation_label = label(labels.RELATIONS, "relation")
    verified_at = fields.DateTime(allow_none=True)


class ExportedReplySchema(ma.Schema):
    plan_item_id = fields.Integer(allow_none=True)
    comment = fields.String(metadata={"description": "the comment replied to, as it was"})
    body = fields.String()
    role = code(labels.REPLIER_ROLES)
    role_label = label(labels.REPLIER_ROLES, "role")
    created_at = fields.DateTime()


class ExportedBallotSchema(ma.Schema):
    consultation_id = fields.Integer()
    consultation_title = fields.String()
    kind = code(labels.CONSULTATION_KINDS)
    kind_label = label(labels.CONSULTATION_KINDS, "kind")
    household_id = fields.Integer()
    choice = code(labels.BALLOT_CHOICES)
    choice_label = label(labels.BALLOT_CHOICES, "choice")
    items = fields.List(fields.String(), metadata={"description": "a needs survey's picks"})
    items_labels = labels_of(labels.PLAN_ITEM_CATEGORIES, "items")
    item_opinions = fields.Dict(
        allow_none=True, metadata={"description": "plan item id → the opinion given of it"}
    )
    comment = fields.String(allow_none=True)
    channel = code(labels.CHANNELS)
    channel_label = label(labels.CHANNELS, "channel")
    delegated = fields.Boolean()
    receipt = fields.String()
    revision = fields.Integer()
    cast_at = fields.DateTime(metadata={"description": "the last change"})
    first_cast_at = fields.DateTime()
    replies = _list(ExportedReplySchema, "official replies to the ballot's comments")


class ExportedBallotChangeSchema(ma.Schema):
    consultation_id = fields.Integer()
    kind = code(labels.CONSULTATION_KINDS)
    kind_label = label(labels.CONSULTATION_KINDS, "kind")
    household_id = fields.Integer()
    revision = fields.Integer()
    choice = code(labels.BALLOT_CHOICES)
    choice_label = label(labels.BALLOT_CHOICES, "choice")
    items = fields.List(fields.String(), allow_none=True)
    items_labels = labels_of(labels.PLAN_ITEM_CATEGORIES, "items", allow_none=True)
    channel = code(labels.CHANNELS)
    channel_label = label(labels.CHANNELS, "channel")
    delegated = fields.Boolean()
    at = fields.DateTime()


class ExportedElectorSchema(ma.Schema):
    consultation_id = fields.Integer()
    household_id = fields.Integer()
    relation = code(labels.RELATIONS)
    relation_label = label(labels.RELATIONS, "relation")


class ExportedDelegationSchema(ma.Schema):
    id = fields.Integer()
    consultation_id = fields.Integer()
    household_id = fields.Integer()
    role = code(
        labels.DELEGATION_ROLES,
        metadata={"description": "`owner` (gave it) or `delegate` (holds it)"},
    )
    role_label = label(labels.DELEGATION_ROLES, "role")
    status = code(labels.DELEGATION_STATUSES)
    status_label = label(labels.DELEGATION_STATUSES, "status")
    note = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    power_of_attorney_upload_id = fields.Integer()
    created_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class ExportedCommentSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    plan_id = fields.Integer(allow_none=True)
    parent_id = fields.Integer(allow_none=True)
    body = fields.String()
    status = code(labels.COMMENT_STATUSES)
    status_label = label(labels.COMMENT_STATUSES, "status")
    status_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ExportedLikeSchema(ma.Schema):
    comment_id = fields.Integer()
    created_at = fields.DateTime()


class ExportedReportSchema(ma.Schema):
    comment_id = fields.Integer()
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ExportedPledgeSchema(ma.Schema):
    scheme_id = fields.Integer()
    scheme = fields.String(metadata={"description": "the contribution scheme's title"})
    project_id = fields.Integer()
    household_id = fields.Integer()
    choice = code(labels.PLEDGE_CHOICES)
    choice_label = label(labels.PLEDGE_CHOICES, "choice")
    reason = fields.String(allow_none=True, metadata={"description": "a decline's reason"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ExportedRulesCommentSchema(ma.Schema):
    id = fields.Integer()
    rules_id = fields.Integer()
    estate_id = fields.Integer()
    version = fields.Integer(metadata={"description": "the version of the rules commented on"})
    household_id = fields.Integer(allow_none=True)
    body = fields.String()
    status = code(labels.COMMENT_STATUSES)
    status_label = label(labels.COMMENT_STATUSES, "status")
    reply = fields.String(allow_none=True, metadata={"description": "the committee's answer"})
    created_at = fields.DateTime()


class ExportedSignupSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    household_id = fields.Integer()
    trade = fields.String(allow_none=True)
    days_available = fields.List(code(labels.WEEKDAYS))
    days_available_labels = labels_of(labels.WEEKDAYS, "days_available")
    note = fields.String(allow_none=True)
    status = code(labels.SIGNUP_STATUSES)
    status_label = label(labels.SIGNUP_STATUSES, "status")
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)


class ExportedInspectionSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    signup_id = fields.Integer()
    aspects = fields.List(code(labels.ASPECTS))
    aspects_labels = labels_of(labels.ASPECTS, "aspects")
    findings = fields.String()
    severity = code(labels.SEVERITIES)
    severity_label = label(labels.SEVERITIES, "severity")
    location = fields.String(allow_none=True)
    photo_upload_ids = fields.List(fields.Integer())
    created_at = fields.DateTime()


class ExportedTicketEventSchema(ma.Schema):
    kind = code(labels.TICKET_EVENT_KINDS)
    kind_label = label(labels.TICKET_EVENT_KINDS, "kind")
    by = code(
        labels.TICKET_ACTORS, metadata={"description": "`reporter` or `staff` (never a name)"}
    )
    by_label = label(labels.TICKET_ACTORS, "by")
    body = fields.String(allow_none=True)
    late = fields.Boolean()
    at = fields.DateTime()


class ExportedTicketSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    source = code(labels.TICKET_SOURCES)
    source_label = label(labels.TICKET_SOURCES, "source")
    inspection_id = fields.Integer(allow_none=True)
    aspects = fields.List(code(labels.ASPECTS))
    aspects_labels = labels_of(labels.ASPECTS, "aspects")
    description = fields.String()
    location = fields.String(allow_none=True)
    severity = code(labels.SEVERITIES)
    severity_label = label(labels.SEVERITIES, "severity")
    status = code(labels.TICKET_STATUSES)
    status_label = label(labels.TICKET_STATUSES, "status")
    opened_at = fields.DateTime()
    due_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    photo_upload_ids = fields.List(fields.Integer())
    events = _list(
        ExportedTicketEventSchema, "the ticket's history: the resident's steps and the answers"
    )


class ExportedRatingSchema(ma.Schema):
    project_id = fields.Integer()
    household_id = fields.Integer()
    quality = fields.Integer()
    environment = fields.Integer()
    facilities = fields.Integer()
    site_management = fields.Integer()
    overall = fields.Integer()
    comment = fields.String(allow_none=True)
    revision = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ExportedAcceptanceSchema(ma.Schema):
    project_id = fields.Integer()
    held_on = fields.Date()
    household_id = fields.Integer()
    verdict = code(labels.VERDICTS)
    verdict_label = label(labels.VERDICTS, "verdict")
    remarks = fields.String(allow_none=True)


class ExportedUploadSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    created_at = fields.DateTime()


class ExportedSubscriptionSchema(ma.Schema):
    template_id = fields.String()
    accepted_at = fields.DateTime()
    spent_at = fields.DateTime(allow_none=True)


class ExportedReadSchema(ma.Schema):
    notice_id = fields.Integer()
    title = fields.String()
    read_at = fields.DateTime()


class ExportedNoticeSchema(ma.Schema):
    id = fields.Integer()
    category = code(labels.NOTICE_CATEGORIES)
    category_label = label(labels.NOTICE_CATEGORIES, "category")
    title = fields.String()
    body = fields.String()
    status = code(labels.NOTICE_STATUSES)
    status_label = label(labels.NOTICE_STATUSES, "status")
    published_at = fields.DateTime(allow_none=True)


class ExportedMessageSchema(ma.Schema):
    notice_id = fields.Integer()
    template_id = fields.String()
    status = code(labels.DELIVERY_STATUSES)
    status_label = label(labels.DELIVERY_STATUSES, "status")
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class ExportSchema(ma.Schema):
    class Meta:
        ordered = True
        description = _EXPORT_DESCRIPTION

    generated_at = fields.DateTime()
    resident = fields.Nested(ExportedResidentSchema)
    privacy_consents = _list(ExportedConsentSchema, "versions of the privacy notice accepted")
    household_claims = _list(ExportedClaimSchema, "claims to households, as typed, any status")
    memberships = _list(ExportedMembershipSchema, "households the resident is a verified member of")
    contribution_pledges = _list(
        ExportedPledgeSchema, "pledges or declines to contribution schemes the resident gave"
    )
    ballots = _list(ExportedBallotSchema, "the household ballots the resident cast last")
    ballot_changes = _list(ExportedBallotChangeSchema, "every ballot the resident cast or changed")
    electorates = _list(ExportedElectorSchema, "consultations the resident could vote in")
    delegations = _list(ExportedDelegationSchema, "delegations of a vote given or held")
    comments = _list(ExportedCommentSchema, "comments on projects and plans, any status")
    comment_likes = _list(ExportedLikeSchema, "comments the resident liked")
    comment_reports = _list(ExportedReportSchema, "comments the resident reported")
    rules_comments = _list(
        ExportedRulesCommentSchema, "comments on an estate's management rules, any status"
    )
    supervisor_signups = _list(ExportedSignupSchema, "sign-ups to supervise construction")
    inspections = _list(ExportedInspectionSchema, "inspection reports filed as a supervisor")
    tickets = _list(ExportedTicketSchema, "problem tickets reported, with their answers")
    ratings = _list(ExportedRatingSchema, "completion ratings given for the household")
    acceptances = _list(ExportedAcceptanceSchema, "verdicts as a residents' representative")
    uploads = _list(ExportedUploadSchema, "files uploaded: what is stored about each")
    subscription_consents = _list(ExportedSubscriptionSchema, "message templates accepted")
    notices_read = _list(ExportedReadSchema, "notices the resident opened")
    notices_to_me = _list(ExportedNoticeSchema, "notices written to the resident alone")
    messages = _list(ExportedMessageSchema, "WeChat messages sent, or not, to the resident")
