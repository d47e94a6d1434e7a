"""What the contribution scheme endpoints (居民出资方案) take and give. Money is integer fen."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels
from api.core.codes import code, label
from api.core.fields import Date, Text, id_field, query_id, text
from participation.contributions import STATES
from participation.models.contributions import BASES, PLEDGE_CHOICES, SCHEME_MATTERS
from participation.service.contributions import MAX_BUILDINGS, MAX_RATE_FEN

RULE_CODES = tuple(labels.RULES)


def fen(**kwargs) -> fields.Integer:
    """An amount in integer fen (a JSON integer: `1.5` and `"1"` are refused)."""
    return fields.Integer(strict=True, **kwargs)


# --- input -------------------------------------------------------------------------------------


REFERENCES = (
    "`plan_item_id` must be an item of the project's current plan, `building_ids` buildings "
    "of its estates, `funding_line_id` one of its funding lines, `due_on` today or later (422 "
    "`scheme_invalid`, the field named in `details`)."
)


class SchemePatchArgs(ma.Schema):
    class Meta:
        description = f"A draft only (409 `scheme_not_draft`). {REFERENCES}"

    title = text(200)
    description = Text(validate=validate.Length(max=2000), allow_none=True)
    basis = fields.String(validate=validate.OneOf(BASES))
    rate_fen = fen(
        validate=validate.Range(min=1, max=MAX_RATE_FEN),
        metadata={"description": "fen per m² (`floor_area`) or per household (`household`)"},
    )
    plan_item_id = id_field(allow_none=True, metadata={"description": "null: the whole plan"})
    building_ids = fields.List(
        id_field(),
        validate=validate.Length(max=MAX_BUILDINGS),
        metadata={"description": "the buildings whose households pay; empty: every household"},
    )
    funding_line_id = id_field(allow_none=True)
    due_on = Date()
    matter = fields.String(validate=validate.OneOf(SCHEME_MATTERS))


class SchemeArgs(SchemePatchArgs):
    class Meta:
        description = (
            "A new draft scheme of the project. "
            + SchemePatchArgs.Meta.description.split(". ", 1)[1]
        )

    title = text(200, required=True)
    basis = fields.String(required=True, validate=validate.OneOf(BASES))
    rate_fen = fen(
        required=True,
        validate=validate.Range(min=1, max=MAX_RATE_FEN),
        metadata={"description": "fen per m² (`floor_area`) or per household (`household`)"},
    )
    building_ids = fields.List(
        id_field(),
        load_default=list,
        validate=validate.Length(max=MAX_BUILDINGS),
        metadata={"description": "the buildings whose households pay; empty: every household"},
    )
    due_on = Date(required=True)
    matter = fields.String(
        load_default="raise_maintenance_fund", validate=validate.OneOf(SCHEME_MATTERS)
    )


class DecisionLinkArgs(ma.Schema):
    class Meta:
        description = (
            "An owners' decision (`owners_decision` consultation) of the scheme's project on "
            "the scheme's matter: 404 `consultation_not_found` for any other project's, 422 "
            "`not_an_owners_decision`, 422 `decision_matter_mismatch`; a draft only."
        )

    consultation_id = id_field(required=True)


class CancelArgs(ma.Schema):
    reason = text(200, required=True)


class PledgeArgs(ma.Schema):
    class Meta:
        description = (
            "The household's answer; the latest stands. `reason` is required when declining "
            "(422 `reason_required`). Only on an adopted scheme (409 `scheme_not_adopted`); "
            "pledging after the due date is still allowed."
        )

    choice = fields.String(required=True, validate=validate.OneOf(PLEDGE_CHOICES))
    reason = text(200, allow_none=True)


class HouseholdFilter(ma.Schema):
    building_id = query_id()
    state = fields.String(validate=validate.OneOf(STATES))


# --- output ------------------------------------------------------------------------------------


class ProjectBuildingSchema(ma.Schema):
    """A building of one of the project's estates, for a scheme's pick list."""

    id = fields.Integer()
    name = fields.String()
    estate_id = fields.Integer()
    estate = fields.String(metadata={"description": "the estate's name"})
    households = fields.Integer(metadata={"description": "households of the building"})


class FundingLineShownSchema(ma.Schema):
    id = fields.Integer()
    source = code(tuple(labels.FUNDING_SOURCES))
    source_label = label(labels.FUNDING_SOURCES, "source")
    amount_fen = fields.Integer()


class DecisionShownSchema(ma.Schema):
    id = fields.Integer()
    title = fields.String()
    status = code(tuple(labels.CONSULTATION_STATUSES))
    status_label = label(labels.CONSULTATION_STATUSES, "status")
    final = fields.Boolean()
    passed = fields.Boolean()
    passed_estate_ids = fields.List(fields.Integer())


class RoundingSchema(ma.Schema):
    rule = code(tuple(labels.ROUNDING_RULES))
    rule_label = label(labels.ROUNDING_RULES, "rule")
    label = fields.String(metadata={"description": "the rule stated (as `rule_label`)"})


class SummarySchema(ma.Schema):
    households = fields.Integer()
    total_fen = fields.Integer()
    provisional = fields.Boolean(metadata={"description": "a draft: computed from the roster now"})
    funding_line = fields.Nested(FundingLineShownSchema, allow_none=True)
    difference_fen = fields.Integer(
        allow_none=True, metadata={"description": "total_fen − the funding line's amount_fen"}
    )
    rounding = fields.Nested(RoundingSchema)
    rule = code(RULE_CODES)
    rule_label = label(labels.RULES, "rule")
    decision = fields.Nested(DecisionShownSchema, allow_none=True)


class SchemeSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    title = fields.String()
    description = fields.String(allow_none=True)
    basis = code(BASES)
    basis_label = label(labels.CONTRIBUTION_BASES, "basis")
    rate_fen = fields.Integer()
    plan_item_id = fields.Integer(allow_none=True)
    building_ids = fields.List(fields.Integer())
    funding_line_id = fields.Integer(allow_none=True)
    due_on = fields.Date()
    matter = code(SCHEME_MATTERS)
    matter_label = label(labels.CONTRIBUTION_MATTERS, "matter")
    decision_id = fields.Integer(allow_none=True)
    status = code(tuple(labels.CONTRIBUTION_STATUSES))
    status_label = label(labels.CONTRIBUTION_STATUSES, "status")
    adopted_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class SchemeDetailSchema(SchemeSchema):
    summary = fields.Nested(SummarySchema)


class PledgeSchema(ma.Schema):
    scheme_id = fields.Integer()
    household_id = fields.Integer()
    choice = code(PLEDGE_CHOICES)
    choice_label = label(labels.PLEDGE_CHOICES, "choice")
    reason = fields.String(allow_none=True)
    recorded_at_desk = fields.Function(
        lambda pledge: pledge.staff_id is not None,
        metadata={"type": "boolean", "description": "recorded by a clerk at the desk"},
    )
    updated_at = fields.DateTime()


class HouseholdAccountSchema(ma.Schema):
    household_id = fields.Integer()
    building_id = fields.Integer()
    building = fields.String()
    unit = fields.String()
    room = fields.String()
    owner = fields.String(metadata={"description": "the roster's owner, masked (张*)"})
    floor_area = fields.Decimal(as_string=True, metadata={"description": "m², two decimals"})
    amount_fen = fields.Integer()
    pledge = code(PLEDGE_CHOICES, allow_none=True)
    pledge_label = label(labels.PLEDGE_CHOICES, "pledge", allow_none=True)
    reason = fields.String(allow_none=True)
    paid_fen = fields.Integer()
    outstanding_fen = fields.Integer()
    provisional = fields.Boolean()


class HouseholdsPageSchema(ma.Schema):
    items = fields.List(fields.Nested(HouseholdAccountSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class FiguresBlockSchema(ma.Schema):
    households = fields.Integer()
    pledged = fields.Integer()
    declined = fields.Integer()
    unanswered = fields.Integer()
    paid_in_full = fields.Integer()
    partly_paid = fields.Integer()
    unpaid = fields.Integer()
    due_fen = fields.Integer()
    paid_fen = fields.Integer()
    outstanding_fen = fields.Integer()
    refunded_fen = fields.Integer()
    overpaid_fen = fields.Integer()


class BuildingFiguresSchema(FiguresBlockSchema):
    building_id = fields.Integer()
    name = fields.String()


class FiguresSchema(ma.Schema):
    scheme_id = fields.Integer()
    status = code(tuple(labels.CONTRIBUTION_STATUSES))
    status_label = label(labels.CONTRIBUTION_STATUSES, "status")
    provisional = fields.Boolean()
    totals = fields.Nested(FiguresBlockSchema)
    buildings = fields.List(fields.Nested(BuildingFiguresSchema))
    funding_line = fields.Nested(FundingLineShownSchema, allow_none=True)
    difference_fen = fields.Integer(allow_none=True)


class PublicityRowSchema(ma.Schema):
    building = fields.String()
    unit = fields.String()
    room = fields.String()
    owner = fields.String(metadata={"description": "masked (张*)"})
    amount_fen = fields.Integer()
    paid_fen = fields.Integer()
    pledge = code(PLEDGE_CHOICES, allow_none=True)
    pledge_label = label(labels.PLEDGE_CHOICES, "pledge", allow_none=True)
    provisional = fields.Boolean()


class PublicitySpendingLineSchema(ma.Schema):
    funding_line_id = fields.Integer()
    source = code(tuple(labels.FUNDING_SOURCES))
    source_label = label(labels.FUNDING_SOURCES, "source")
    note = fields.String(allow_none=True)
    amount_fen = fields.Integer()
    spent_fen = fields.Integer()
    remaining_fen = fields.Integer()
    expenses = fields.Integer()


class PublicitySpendingTotalsSchema(ma.Schema):
    amount_fen = fields.Integer()
    spent_fen = fields.Integer()
    remaining_fen = fields.Integer()
    expenses = fields.Integer()


class PublicitySpendingSchema(ma.Schema):
    lines = fields.List(fields.Nested(PublicitySpendingLineSchema))
    totals = fields.Nested(PublicitySpendingTotalsSchema)


class PublicitySchema(ma.Schema):
    scheme_id = fields.Integer()
    items = fields.List(fields.Nested(PublicityRowSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    spending = fields.Nested(PublicitySpendingSchema)


class MySchemeSchema(ma.Schema):
    scheme_id = fields.Integer()
    project_id = fields.Integer()
    title = fields.String()
    status = code(tuple(labels.CONTRIBUTION_STATUSES))
    status_label = label(labels.CONTRIBUTION_STATUSES, "status")
    provisional = fields.Boolean(metadata={"description": "a draft: the amount may change"})
    basis = code(BASES)
    basis_label = label(labels.CONTRIBUTION_BASES, "basis")
    basis_words = fields.String()
    floor_area = fields.Decimal(as_string=True)
    rate_fen = fields.Integer()
    amount_fen = fields.Integer()
    due_on = fields.Date()
    matter = code(SCHEME_MATTERS)
    matter_label = label(labels.CONTRIBUTION_MATTERS, "matter")
    pledge = code(PLEDGE_CHOICES, allow_none=True)
    pledge_label = label(labels.PLEDGE_CHOICES, "pledge", allow_none=True)
    reason = fields.String(allow_none=True)
    paid_fen = fields.Integer()
    outstanding_fen = fields.Integer()


class HomeContributionSchema(ma.Schema):
    """An adopted scheme a household of the caller has not answered or not paid in full."""

    scheme_id = fields.Integer()
    project_id = fields.Integer()
    title = fields.String()
    due_on = fields.Date()
    household_id = fields.Integer()
    amount_fen = fields.Integer()
    paid_fen = fields.Integer()
    outstanding_fen = fields.Integer()
    pledge = code(PLEDGE_CHOICES, allow_none=True)
    pledge_label = label(labels.PLEDGE_CHOICES, "pledge", allow_none=True)


class MyHouseholdContributionsSchema(ma.Schema):
    household_id = fields.Integer()
    estate = fields.String()
    building = fields.String()
    unit = fields.String()
    room = fields.String()
    relation = code(tuple(labels.RELATIONS))
    relation_label = label(labels.RELATIONS, "relation")
    may_pledge = fields.Boolean(metadata={"description": "owners and family members pledge"})
    schemes = fields.List(fields.Nested(MySchemeSchema))
