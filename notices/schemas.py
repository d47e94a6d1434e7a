"""What the notice and subscription endpoints take (`…Args`) and give (`…Schema`)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels
from api.core.codes import code, label, labels_of
from api.core.fields import DateTime, Text, id_field, mask_name, query_id, text
from notices.models import (
    CATEGORIES,
    DELIVERY_STATUSES,
    STAFF_CATEGORIES,
    STATUSES,
    TARGET_KINDS,
)
from notices.queries import DELIVERY_REASONS

SUBSCRIBE_ANSWERS = ("accept", "reject", "ban", "filter")
TARGET_FIELDS = ("community_id", "estate_id", "project_id")


def _attachments():
    return fields.List(
        fields.Url(validate=validate.Length(max=500)), validate=validate.Length(max=20)
    )


class NoticeArgs(ma.Schema):
    """A new notice for exactly one of: a community, an estate (optionally some of its
    buildings), a project (its estates)."""

    class Meta:
        description = (
            "Exactly one of `community_id`, `estate_id`, `project_id` names the target. "
            "`building_ids` only with `estate_id`, each a building of that estate (422 "
            "`buildings_not_in_estate`). A `draft` has no `publish_at`. `publish_at` must be in "
            "the future (422 `publish_at_past`); `expires_at` after `publish_at`, or after now "
            "when published at once (422 `expires_before_publish`)."
        )

    community_id = id_field()
    estate_id = id_field()
    building_ids = fields.List(
        id_field(),
        validate=validate.Length(min=1, max=200),
        metadata={"description": "buildings of `estate_id`; omit for the whole estate"},
    )
    project_id = id_field()
    category = fields.String(required=True, validate=validate.OneOf(STAFF_CATEGORIES))
    title = text(100, required=True)
    body = Text(required=True, validate=validate.Length(max=10_000))
    attachments = _attachments()
    pinned = fields.Boolean(load_default=False)
    expires_at = DateTime(allow_none=True)
    publish_at = DateTime(
        allow_none=True, metadata={"description": "publish later, at this time (scheduled)"}
    )
    draft = fields.Boolean(load_default=False, metadata={"description": "keep as a draft"})

    @ma.validates_schema
    def _one_target(self, data, **kwargs):
        given = [name for name in TARGET_FIELDS if data.get(name) is not None]
        if len(given) != 1:
            raise ma.ValidationError(
                "请在 community_id、estate_id、project_id 中指定且只指定一个发布对象", "_target"
            )
        if data.get("building_ids") and given != ["estate_id"]:
            raise ma.ValidationError(
                "指定楼栋 building_ids 时须同时指定小区 estate_id", "building_ids"
            )
        if data.get("draft") and data.get("publish_at") is not None:
            raise ma.ValidationError("草稿不设发布时间 publish_at，请在发布时再指定", "publish_at")


class NoticePatchArgs(ma.Schema):
    """Content while a draft or scheduled; pin and expiry at any time before withdrawal."""

    class Meta:
        description = (
            "At least one field. `category`, `title`, `body` and `attachments` change only "
            "while the notice is a draft or scheduled (409 `notice_already_published`); "
            "`expires_at` must be after now and after the publication time (422 "
            "`expires_before_publish`)."
        )

    category = fields.String(validate=validate.OneOf(STAFF_CATEGORIES))
    title = text(100)
    body = Text(validate=validate.Length(max=10_000))
    attachments = _attachments()
    pinned = fields.Boolean()
    expires_at = DateTime(allow_none=True)

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("没有要修改的内容", "_schema")


class PublishArgs(ma.Schema):
    class Meta:
        description = "`publish_at`, when given, must be in the future (422 `publish_at_past`)."

    publish_at = DateTime(allow_none=True, metadata={"description": "omit to publish now"})


class WithdrawArgs(ma.Schema):
    reason = text(500, required=True)


class NoticeFilter(ma.Schema):
    """Staff filter by all of these but `unread`; residents by category and `unread` (they get
    their published ones)."""

    status = fields.String(validate=validate.OneOf(STATUSES))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    community_id = query_id()
    estate_id = query_id()
    project_id = query_id()
    personal = fields.Boolean(
        metadata={
            "description": "`0`/`false` leaves out the notices addressed to one resident (the "
            "system's personal notices: a ticket answered, a sign-up reviewed), `1`/`true` "
            "lists only them; staff only (a resident's own are always among theirs)"
        }
    )
    unread = fields.Boolean(
        metadata={
            "description": "residents only: `1`/`true` lists the notices the resident has not "
            "read (no read receipt of theirs), `0`/`false` those they have; `total` counts "
            "them. Staff have no read receipts: 422 `unread_residents_only`"
        }
    )


class TargetSchema(ma.Schema):
    kind = code(TARGET_KINDS, attribute="target_kind")
    kind_label = label(labels.NOTICE_TARGET_KINDS, "target_kind")
    community_id = fields.Integer(allow_none=True)
    estate_id = fields.Integer(allow_none=True)
    building_ids = fields.List(fields.Integer(), allow_none=True)
    project_id = fields.Integer(allow_none=True)


# What `TargetSchema` gives, for the document (it is dumped by hand, so not a component).
TARGET = {
    "kind": {"type": "string", "enum": list(TARGET_KINDS)},
    "kind_label": {"type": "string"},
    "community_id": {"type": "integer", "nullable": True},
    "estate_id": {"type": "integer", "nullable": True},
    "building_ids": {"type": "array", "items": {"type": "integer"}, "nullable": True},
    "project_id": {"type": "integer", "nullable": True},
}


class NoticeSummarySchema(ma.Schema):
    id = fields.Integer()
    category = code(CATEGORIES)
    category_label = label(labels.NOTICE_CATEGORIES, "category")
    title = fields.String()
    summary = fields.Function(lambda n: n.body[:80] if n.body else "", metadata={"type": "string"})
    pinned = fields.Boolean()
    status = code(STATUSES)
    status_label = label(labels.NOTICE_STATUSES, "status")
    published_at = fields.DateTime(allow_none=True)
    publish_at = fields.DateTime(
        allow_none=True, metadata={"description": "when a scheduled notice is to be published"}
    )
    expires_at = fields.DateTime(allow_none=True)
    read = fields.Boolean(
        allow_none=True, metadata={"description": "residents: whether they have read it"}
    )


class NoticeSchema(NoticeSummarySchema):
    """The whole notice. A withdrawn one shows residents the reason, not the body."""

    body = fields.String(allow_none=True)
    attachments = fields.List(fields.String())
    target = fields.Function(
        lambda n: TargetSchema().dump(n),
        metadata={"type": "object", "properties": TARGET},
    )
    publish_at = fields.DateTime(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    withdraw_reason = fields.String(allow_none=True)
    system = fields.Function(
        lambda n: n.author_id is None, metadata={"type": "boolean", "description": "by an event"}
    )
    created_at = fields.DateTime()
    may_manage = fields.Boolean(
        metadata={
            "description": "staff reading one notice (`GET /notices/{id}`): whether they may edit, "
            "publish and withdraw it (else 403 `out_of_scope`); absent elsewhere"
        }
    )


class ReadSchema(ma.Schema):
    notice_id = fields.Integer()
    read_at = fields.DateTime()


class BuildingShareSchema(ma.Schema):
    building_id = fields.Integer()
    building = fields.String()
    estate = fields.String()
    households_targeted = fields.Integer()
    households_read = fields.Integer()
    read_share = fields.Float()


class DeliveryCountsSchema(ma.Schema):
    pending = fields.Integer()
    sending = fields.Integer()
    sent = fields.Integer()
    no_consent = fields.Integer()
    failed = fields.Integer()
    retrying = fields.Integer()
    cancelled = fields.Integer()
    total = fields.Integer()


class ReceiptsArgs(ma.Schema):
    lowest = fields.Integer(load_default=10, validate=validate.Range(min=1, max=500))


class ReceiptsSchema(ma.Schema):
    notice_id = fields.Integer()
    status = code(STATUSES)
    status_label = label(labels.NOTICE_STATUSES, "status")
    households_targeted = fields.Integer()
    households_read = fields.Integer()
    read_share = fields.Float(
        allow_none=True, metadata={"description": "households with a member who read it"}
    )
    residents_read = fields.Integer()
    buildings_total = fields.Integer()
    lowest_buildings = fields.List(fields.Nested(BuildingShareSchema))
    deliveries = fields.Nested(DeliveryCountsSchema)


class SubscriptionArgs(ma.Schema):
    """What wx.requestSubscribeMessage answered; its `errMsg` key may be passed along."""

    class Meta:
        description = (
            "`results` maps template ids to `accept`, `reject`, `ban` or `filter`; an `errMsg` "
            "key is ignored, and at least one template answer must remain. An unknown template "
            "id is a 422 `unknown_template`."
        )

    results = fields.Dict(
        required=True,
        keys=fields.String(validate=validate.Length(min=1, max=64)),
        values=fields.String(validate=validate.Length(max=64)),
        validate=validate.Length(min=1, max=21),
    )

    @ma.post_load
    def _answers(self, data, **kwargs):
        results = {k: v for k, v in data["results"].items() if k != "errMsg"}
        bad = sorted(k for k, v in results.items() if v not in SUBSCRIBE_ANSWERS)
        if bad:
            raise ma.ValidationError(
                {k: [f"必须是以下之一：{', '.join(SUBSCRIBE_ANSWERS)}"] for k in bad}, "results"
            )
        if not results:
            raise ma.ValidationError("没有任何模板的订阅结果", "results")
        data["results"] = results
        return data


class TemplateSchema(ma.Schema):
    template_id = fields.String()
    categories = fields.List(code(CATEGORIES))
    categories_labels = labels_of(labels.NOTICE_CATEGORIES, "categories")
    unspent = fields.Integer()


class SubscriptionsSchema(ma.Schema):
    """The templates the mini-program should ask for, and the caller's unspent acceptances."""

    templates = fields.List(fields.Nested(TemplateSchema))
    recorded = fields.Dict(keys=fields.String(), values=fields.Integer())


# --- the console's figures of one notice ------------------------------------------------------


class DeliveryReasonSchema(ma.Schema):
    status = code(DELIVERY_STATUSES)
    status_label = label(labels.DELIVERY_STATUSES, "status")
    reason = fields.String(
        validate=validate.OneOf(DELIVERY_REASONS),
        metadata={"enum": list(DELIVERY_REASONS), "description": "why it was not sent"},
    )
    reason_label = fields.String()
    errcode = fields.Integer(
        allow_none=True, metadata={"description": "WeChat's errcode, when it answered with one"}
    )
    count = fields.Integer()


class DeliveryReportSchema(ma.Schema):
    """How the notice's WeChat messages fared, and why those not sent were not."""

    notice_id = fields.Integer()
    status = code(STATUSES)
    status_label = label(labels.NOTICE_STATUSES, "status")
    deliveries = fields.Nested(DeliveryCountsSchema)
    reasons = fields.List(
        fields.Nested(DeliveryReasonSchema),
        metadata={"description": "messages not sent, by status, reason and errcode; most first"},
    )
    households_targeted = fields.Integer()
    households_without_member = fields.Integer(
        metadata={"description": "targeted households with no verified member: no message"}
    )


class BuildingReadSchema(ma.Schema):
    building_id = fields.Integer()
    building = fields.String()
    estate = fields.String()
    households_targeted = fields.Integer()
    households_read = fields.Integer()
    read_share = fields.Float(allow_none=True)


class BuildingSharesSchema(ma.Schema):
    """One page of the buildings a notice reached, each with its read share."""

    notice_id = fields.Integer()
    households_targeted = fields.Integer()
    households_read = fields.Integer()
    read_share = fields.Float(allow_none=True)
    items = fields.List(fields.Nested(BuildingReadSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer(metadata={"description": "buildings the notice reached"})


class UnreachedFilter(ma.Schema):
    building_id = query_id(
        metadata={"description": "one building the notice reached (422 `building_not_in_notice`)"}
    )


class UnreachedHouseholdSchema(ma.Schema):
    household_id = fields.Integer()
    estate = fields.String()
    building_id = fields.Integer()
    building = fields.String()
    unit = fields.String()
    room = fields.String()
    owner_name = fields.Function(
        lambda row: mask_name(row["owner_name"]),
        metadata={"type": "string", "description": "the roster's owner of record, masked: 张*"},
    )
    verified_members = fields.Integer(
        metadata={"description": "verified residents of the household; 0: WeChat cannot reach it"}
    )


class UnreachedSchema(ma.Schema):
    """Whom to visit: one page of the targeted households where no verified member has read
    the notice."""

    notice_id = fields.Integer()
    households_targeted = fields.Integer()
    not_reached = fields.Integer(metadata={"description": "of the whole notice, any filter"})
    items = fields.List(fields.Nested(UnreachedHouseholdSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer(metadata={"description": "households listed, after the filter"})
