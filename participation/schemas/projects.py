"""What the project and plan endpoints take and give."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import local_today
from api.core.fields import Date, Text, id_field, text
from participation.models import (
    CATEGORIES,
    FUNDING_SOURCES,
    MILESTONES,
    PLAN_ITEM_CATEGORIES,
    STATUSES,
)


def money(**kwargs):
    return fields.Decimal(
        places=2, validate=validate.Range(min=0, max=10**11), allow_nan=False, **kwargs
    )


class FundingArgs(ma.Schema):
    source = fields.String(required=True, validate=validate.OneOf(FUNDING_SOURCES))
    amount = money(required=True)
    note = text(200, allow_none=True)


class ProjectArgs(ma.Schema):
    class Meta:
        description = (
            "`estate_ids` must all exist (404 `estate_not_found`) and lie in one county (422 "
            "`estates_in_several_counties`)."
        )

    name = text(200, required=True)
    description = Text(validate=validate.Length(max=5000), allow_none=True)
    estate_ids = fields.List(id_field(), required=True, validate=validate.Length(min=1, max=50))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    plan_year = fields.Integer(strict=True, required=True, validate=validate.Range(2000, 2100))
    funding = fields.List(fields.Nested(FundingArgs), load_default=list)
    supervisor_cap = fields.Integer(strict=True, validate=validate.Range(0, 1000), load_default=10)


class ProjectPatchArgs(ma.Schema):
    """Any of these; estates, status and satisfaction fields are not patched here."""

    name = text(200)
    description = Text(validate=validate.Length(max=5000), allow_none=True)
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    funding = fields.List(fields.Nested(FundingArgs))
    supervisor_cap = fields.Integer(strict=True, validate=validate.Range(0, 1000))
    milestones = fields.Dict(
        keys=fields.String(validate=validate.OneOf(tuple(MILESTONES))),
        values=Date(allow_none=True),
        metadata={"description": "actual dates: {kind: 'YYYY-MM-DD' | null}"},
    )


class TransitionArgs(ma.Schema):
    to = fields.String(required=True, validate=validate.OneOf(STATUSES[1:]))


class PlanItemArgs(ma.Schema):
    category = fields.String(required=True, validate=validate.OneOf(PLAN_ITEM_CATEGORIES))
    description = text(2000, required=True)
    estimated_cost = money(required=True)
    attachments = fields.List(
        fields.Url(validate=validate.Length(max=500)),
        load_default=list,
        validate=validate.Length(max=20),
    )


class PlanArgs(ma.Schema):
    summary = Text(validate=validate.Length(max=5000), allow_none=True)
    items = fields.List(
        fields.Nested(PlanItemArgs), required=True, validate=validate.Length(min=1, max=200)
    )


class FundingSchema(ma.Schema):
    source = fields.String()
    amount = fields.Float()
    note = fields.String(allow_none=True)


class MilestoneSchema(ma.Schema):
    kind = fields.String()
    due_on = fields.Date()
    done_on = fields.Date(allow_none=True)
    overdue = fields.Function(lambda m: m.overdue(local_today()))


class PlanItemSchema(ma.Schema):
    id = fields.Integer()
    position = fields.Integer()
    category = fields.String()
    description = fields.String()
    estimated_cost = fields.Float()
    attachments = fields.List(fields.String())


class PlanSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    version = fields.Integer()
    summary = fields.String(allow_none=True)
    total_cost = fields.Float()
    put_to_residents_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    items = fields.List(fields.Nested(PlanItemSchema))


RESULTS_HIDDEN = (
    "null when the gate result shows; while the gate consultation is open, `until_close` "
    "(residents) or `too_few_ballots` (staff, fewer than RESULTS_MIN_BALLOTS households voted): "
    "then `plan_satisfaction_rate` is null and `gate_passed` false; participation shows"
)


class SatisfactionSchema(ma.Schema):
    plan_satisfaction_rate = fields.Float(allow_none=True)
    participation_rate = fields.Float(allow_none=True)
    gate_passed = fields.Boolean()
    gate_final = fields.Boolean()
    gate_computed_at = fields.DateTime(allow_none=True)
    # After the works: written by the feedback domain's completion job from the ratings.
    completion_satisfaction_rate = fields.Float(allow_none=True)
    completion_ratings = fields.Integer()
    completion_computed_at = fields.DateTime(allow_none=True)
    rating_closes_at = fields.DateTime(allow_none=True)
    results_hidden = fields.String(allow_none=True, metadata={"description": RESULTS_HIDDEN})


class ProjectSummarySchema(SatisfactionSchema):
    id = fields.Integer()
    county_id = fields.Integer()
    name = fields.String()
    category = fields.String()
    plan_year = fields.Integer()
    status = fields.String()
    estate_ids = fields.Function(lambda p: [e.id for e in p.estates])


class OpenConsultationSchema(ma.Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    closes_at = fields.DateTime(allow_none=True)


class ProjectSchema(ProjectSummarySchema):
    description = fields.String(allow_none=True)
    supervisor_cap = fields.Integer()
    funding = fields.List(fields.Nested(FundingSchema))
    funding_total = fields.Function(lambda p: float(sum(f.amount for f in p.funding)))
    milestones = fields.List(fields.Nested(MilestoneSchema))
    current_plan = fields.Nested(PlanSchema, allow_none=True)
    completion_means = fields.Dict(
        keys=fields.String(), values=fields.Float(allow_none=True), allow_none=True
    )
    open_consultations = fields.List(fields.Nested(OpenConsultationSchema))
    created_at = fields.DateTime()


class OverdueMilestoneSchema(ma.Schema):
    project_id = fields.Integer()
    kind = fields.String()
    due_on = fields.String()
    done_on = fields.String(allow_none=True)


class ProjectProgressSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String()
    plan_year = fields.Integer()
    plan_satisfaction_rate = fields.Float(allow_none=True)
    participation_rate = fields.Float(allow_none=True)
    gate_passed = fields.Boolean()
    gate_final = fields.Boolean()
    results_hidden = fields.String(allow_none=True, metadata={"description": RESULTS_HIDDEN})


class CountyOverviewSchema(ma.Schema):
    county_id = fields.Integer()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    overdue_milestones = fields.List(fields.Nested(OverdueMilestoneSchema))
    projects = fields.List(fields.Nested(ProjectProgressSchema))
