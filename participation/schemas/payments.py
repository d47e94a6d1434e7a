"""What the contribution entries (缴款、更正、退款), the expenses (支出) and the spending
(支出公示) endpoints take and give. Every amount is integer fen (分): a JSON integer, never a
decimal or a float."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels
from api.core.codes import code, label
from api.core.fields import Date, id_field, query_id, text
from participation.models.contributions import ENTRY_KINDS, PAYMENT_CHANNELS, PAYMENT_SOURCES

# The most one entry or expense may move: 1 亿元. A larger figure is a typing slip, and the
# sums of many stay far inside a BIGINT.
MAX_FEN = 10_000_000_000
KEY_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


def fen(**kwargs) -> fields.Integer:
    """An amount in integer fen in a body: a JSON integer (`"100"` and `1.0` are refused)."""
    return fields.Integer(strict=True, validate=validate.Range(min=-MAX_FEN, max=MAX_FEN), **kwargs)


def idempotency_key(**kwargs) -> fields.String:
    return fields.String(
        validate=validate.Regexp(KEY_PATTERN, error="须为 8–64 个字母、数字、- 或 _"),
        metadata={
            "description": "made by the client once per form (an adapter: its transaction id); "
            "the same key with the same content again answers 200 with the entry already "
            "recorded, with different content 409 `idempotency_key_reused`"
        },
        **kwargs,
    )


# --- entries of a household's contribution account ------------------------------------------


class EntryArgs(ma.Schema):
    class Meta:
        description = (
            "One entry of a household's account, never edited. `amount_fen` is signed: the "
            "change to what the household has paid. `kind` `payment`: `amount_fen` > 0, only "
            "while the scheme is adopted (409 `scheme_not_adopted` on a draft or cancelled "
            "scheme: a scheme collects nothing before its owners' decision passes). `refund`: "
            "`amount_fen` < 0, on a cancelled scheme up to what the household has paid, on an "
            "adopted one up to what it paid beyond its amount (409 `refund_too_large`). "
            "`correction`: `amount_fen` ≠ 0 and `corrects_id` names an earlier entry of the "
            "same scheme and household (422 `corrected_entry_invalid`); it may not take what "
            "the household has paid below zero (409 `balance_negative`). `corrects_id` only "
            "with a correction (422 `corrects_id_unexpected`). `paid_on` not after today "
            "(422 `paid_on_in_future`). `household_id`: a household the scheme covers (404 "
            "`household_not_found`). `photo_id`: the recording clerk's own image upload "
            "of this project (422 `upload_invalid`), kept as evidence, never one already "
            "published (422 `upload_published`)."
        )

    household_id = id_field(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ENTRY_KINDS))
    amount_fen = fen(required=True)
    paid_on = Date(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(PAYMENT_CHANNELS))
    receipt_no = text(40, allow_none=True, load_default=None)
    photo_id = id_field(allow_none=True, load_default=None)
    note = text(200, allow_none=True, load_default=None)
    corrects_id = id_field(allow_none=True, load_default=None)
    idempotency_key = idempotency_key(required=True)

    @ma.validates_schema
    def _signs(self, data, **kwargs):
        kind, amount = data.get("kind"), data.get("amount_fen")
        if kind is None or amount is None:
            return
        if kind == "payment" and amount <= 0:
            raise ma.ValidationError("缴款金额须大于零", "amount_fen")
        if kind == "refund" and amount >= 0:
            raise ma.ValidationError("退款金额须为负数（退还给住户的金额）", "amount_fen")
        if kind == "correction" and amount == 0:
            raise ma.ValidationError("更正金额不能为零", "amount_fen")


class EntryFilter(ma.Schema):
    household_id = query_id(
        metadata={"description": "one household's entries (required for residents)"}
    )


class EntrySchema(ma.Schema):
    id = fields.Integer()
    scheme_id = fields.Integer()
    household_id = fields.Integer()
    building = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    room = fields.String(allow_none=True)
    kind = code(ENTRY_KINDS)
    kind_label = label(labels.CONTRIBUTION_ENTRY_KINDS, "kind")
    amount_fen = fields.Integer(metadata={"description": "signed: + paid in, − paid back"})
    paid_on = fields.Date()
    channel = code(PAYMENT_CHANNELS)
    channel_label = label(labels.PAYMENT_CHANNELS, "channel")
    receipt_no = fields.String(allow_none=True)
    photo_id = fields.Integer(attribute="photo_upload_id", allow_none=True)
    note = fields.String(allow_none=True)
    corrects_id = fields.Integer(allow_none=True)
    idempotency_key = fields.String()
    source = code(PAYMENT_SOURCES)
    source_label = label(labels.PAYMENT_SOURCES, "source")
    external_ref = fields.String(allow_none=True)
    created_at = fields.DateTime()


# --- expenses and spending --------------------------------------------------------------------


class ExpenseArgs(ma.Schema):
    class Meta:
        description = (
            "Money spent from one of the project's funding lines (`funding_line_id`, 422 "
            "`funding_line_invalid` for another project's), never edited. `amount_fen` > 0; "
            "a correction names the expense it corrects (`corrects_id`: an expense of the same "
            "line that is not itself a correction, 422 `corrected_expense_invalid`) and may be "
            "negative, but may not take the corrected expense below zero (409 "
            "`balance_negative`); a negative amount without `corrects_id` is 422. `spent_on` "
            "not after today (422 `spent_on_in_future`). `voucher_id`: the recording staff "
            "member's own upload of this project (an image or a PDF, 422 `upload_invalid`)."
        )

    funding_line_id = id_field(required=True)
    amount_fen = fen(required=True)
    spent_on = Date(required=True)
    description = text(200, required=True)
    voucher_id = id_field(allow_none=True, load_default=None)
    corrects_id = id_field(allow_none=True, load_default=None)
    idempotency_key = idempotency_key(required=True)

    @ma.validates_schema
    def _signs(self, data, **kwargs):
        amount = data.get("amount_fen")
        if amount is None:
            return
        if amount == 0:
            raise ma.ValidationError("金额不能为零", "amount_fen")
        if amount < 0 and data.get("corrects_id") is None:
            raise ma.ValidationError("负数金额只能用于更正已登记的支出", "amount_fen")


class ExpenseSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    funding_line_id = fields.Integer()
    amount_fen = fields.Integer(metadata={"description": "signed: a correction may be negative"})
    spent_on = fields.Date()
    description = fields.String()
    voucher_id = fields.Integer(attribute="voucher_upload_id", allow_none=True)
    corrects_id = fields.Integer(allow_none=True)
    idempotency_key = fields.String()
    created_at = fields.DateTime()


class SpendingLineSchema(ma.Schema):
    funding_line_id = fields.Integer()
    source = code(labels.FUNDING_SOURCES)
    source_label = label(labels.FUNDING_SOURCES, "source")
    note = fields.String(allow_none=True)
    amount_fen = fields.Integer(metadata={"description": "the funding line's amount"})
    spent_fen = fields.Integer()
    remaining_fen = fields.Integer(metadata={"description": "negative when overspent"})
    expenses = fields.Integer(metadata={"description": "entries recorded (corrections too)"})


class SpendingTotalsSchema(ma.Schema):
    amount_fen = fields.Integer()
    spent_fen = fields.Integer()
    remaining_fen = fields.Integer()
    expenses = fields.Integer()


class SpendingSchema(ma.Schema):
    lines = fields.List(fields.Nested(SpendingLineSchema))
    totals = fields.Nested(SpendingTotalsSchema)
