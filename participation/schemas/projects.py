"""What the project and plan endpoints take and give."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels, local_today
from api.core.codes import code, keyed_labels, label
from api.core.fields import Date, Text, id_field, query_id, text
from api.core.numbers import yuan_to_fen
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
    # Given on a PATCH: the project's existing line this one keeps and changes (a contribution
    # scheme or an expense may name it); a line without an id is a new one.
    id = id_field(
        required=False,
        metadata={"description": "an existing funding line of the project to keep (PATCH)"},
    )
    source = fields.String(required=True, validate=validate.OneOf(FUNDING_SOURCES))
    amount = money(required=True)
    note = text(200, allow_none=True)


def warranty_years(**kwargs):
    """The warranty period (保修期) after acceptance, in whole years: 0 to 10."""
    return fields.Integer(
        strict=True,
        validate=validate.Range(0, 10),
        metadata={
            "description": "the warranty period after acceptance, in years (0–10, default 2); "
            "changed after acceptance, the end date follows from the same acceptance date"
        },
        **kwargs,
    )


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
    warranty_years = warranty_years(load_default=2)


class ProjectPatchArgs(ma.Schema):
    """Any of these; estates, status and satisfaction fields are not patched here."""

    name = text(200)
    description = Text(validate=validate.Length(max=5000), allow_none=True)
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    funding = fields.List(fields.Nested(FundingArgs))
    supervisor_cap = fields.Integer(strict=True, validate=validate.Range(0, 1000))
    warranty_years = warranty_years()
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


class PlanAttachmentArgs(ma.Schema):
    upload_id = id_field(
        required=True,
        metadata={"description": "id from POST /projects/{id}/uploads, by the same staff member"},
    )
    title = text(200, required=True, metadata={"description": "what residents read: 总平面图…"})


class PlanArgs(ma.Schema):
    class Meta:
        description = (
            "`attachments`: the version's drawings (JPEG, PNG, WebP) and plan document (PDF), "
            "in the order given, each the caller's own upload of this project (422 "
            "`upload_invalid`, ids under `details.attachments`; 422 `upload_in_use` for one "
            "that is a ballot's or a delegation's evidence; 422 `upload_duplicate` for one "
            "named twice). They are part of the version: none can be added, changed or removed "
            "later (a change is a new version). Residents of the project's estates may fetch "
            "them (`url`)."
        )

    summary = Text(validate=validate.Length(max=5000), allow_none=True)
    items = fields.List(
        fields.Nested(PlanItemArgs), required=True, validate=validate.Length(min=1, max=200)
    )
    attachments = fields.List(
        fields.Nested(PlanAttachmentArgs), load_default=list, validate=validate.Length(max=20)
    )


class FundingSchema(ma.Schema):
    id = fields.Integer()
    source = code(FUNDING_SOURCES)
    source_label = label(labels.FUNDING_SOURCES, "source")
    amount = fields.Float(metadata={"description": "yuan, for display; `amount_fen` is exact"})
    amount_fen = fields.Function(
        lambda f: yuan_to_fen(f.amount),
        metadata={"type": "integer", "description": "the amount in fen (分), exact"},
    )
    note = fields.String(allow_none=True)


class MilestoneSchema(ma.Schema):
    kind = code(MILESTONES)
    kind_label = label(labels.MILESTONES, "kind")
    due_on = fields.Date()
    done_on = fields.Date(allow_none=True)
    overdue = fields.Function(lambda m: m.overdue(local_today()), metadata={"type": "boolean"})


class PlanItemSchema(ma.Schema):
    id = fields.Integer()
    position = fields.Integer()
    category = code(PLAN_ITEM_CATEGORIES)
    category_label = label(labels.PLAN_ITEM_CATEGORIES, "category")
    description = fields.String()
    estimated_cost = fields.Float()
    attachments = fields.List(fields.String())


class PlanAttachmentSchema(ma.Schema):
    """A file of a plan version (its rows and files are the feedback domain's uploads)."""

    id = fields.Integer()
    upload_id = fields.Integer()
    position = fields.Integer()
    title = fields.String()
    content_type = fields.String(
        metadata={"enum": ["image/jpeg", "image/png", "image/webp", "application/pdf"]}
    )
    size = fields.Integer()
    url = fields.Function(
        lambda a: f"/api/v1/uploads/{a.upload_id}",
        metadata={"type": "string", "description": "GET it with the caller's token"},
    )


class PlanSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    version = fields.Integer()
    summary = fields.String(allow_none=True)
    total_cost = fields.Float()
    put_to_residents_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    items = fields.List(fields.Nested(PlanItemSchema))
    attachments = fields.List(fields.Nested(PlanAttachmentSchema))


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
    results_hidden = code(
        labels.RESULTS_HIDDEN, allow_none=True, metadata={"description": RESULTS_HIDDEN}
    )
    results_hidden_label = label(labels.RESULTS_HIDDEN, "results_hidden", allow_none=True)


class ProjectSummarySchema(SatisfactionSchema):
    id = fields.Integer()
    county_id = fields.Integer()
    name = fields.String()
    category = code(CATEGORIES)
    category_label = label(labels.PROJECT_CATEGORIES, "category")
    plan_year = fields.Integer()
    status = code(STATUSES)
    status_label = label(labels.PROJECT_STATUSES, "status")
    estate_ids = fields.Function(
        lambda p: [e.id for e in p.estates],
        metadata={"type": "array", "items": {"type": "integer"}},
    )
    warranty_years = fields.Integer()
    warranty_ends_on = fields.Date(
        allow_none=True,
        metadata={"description": "the warranty's last day; set when the project is accepted"},
    )
    in_warranty = fields.Function(
        lambda p: p.warranty_ends_on is not None and local_today() <= p.warranty_ends_on,
        metadata={
            "type": "boolean",
            "description": "accepted and within the warranty period today (local date)",
        },
    )


class OpenConsultationSchema(ma.Schema):
    id = fields.Integer()
    kind = code(labels.CONSULTATION_KINDS)
    kind_label = label(labels.CONSULTATION_KINDS, "kind")
    title = fields.String()
    closes_at = fields.DateTime(allow_none=True)


class ProjectSchema(ProjectSummarySchema):
    description = fields.String(allow_none=True)
    supervisor_cap = fields.Integer()
    funding = fields.List(fields.Nested(FundingSchema))
    funding_total = fields.Function(
        lambda p: float(sum(f.amount for f in p.funding)),
        metadata={
            "type": "number",
            "description": "yuan, for display; `funding_total_fen` is exact",
        },
    )
    funding_total_fen = fields.Function(
        lambda p: sum(yuan_to_fen(f.amount) for f in p.funding),
        metadata={"type": "integer", "description": "the funding lines' sum in fen (分), exact"},
    )
    milestones = fields.List(fields.Nested(MilestoneSchema))
    current_plan = fields.Nested(PlanSchema, allow_none=True)
    completion_means = fields.Dict(
        keys=fields.String(), values=fields.Float(allow_none=True), allow_none=True
    )
    completion_means_labels = keyed_labels(
        labels.RATING_DIMENSIONS, "completion_means", allow_none=True
    )
    open_consultations = fields.List(fields.Nested(OpenConsultationSchema))
    created_at = fields.DateTime()


class NextMilestoneSchema(ma.Schema):
    """A project's earliest milestone not yet met."""

    kind = code(MILESTONES)
    kind_label = label(labels.MILESTONES, "kind")
    due_on = fields.Date()
    overdue = fields.Function(
        lambda m: m.overdue(local_today()),
        metadata={"type": "boolean", "description": "its due date has passed"},
    )


class EstateProjectSchema(ma.Schema):
    """A project covering an estate, as a resident's home screen lists it
    (`participation.queries.EstateProject`)."""

    id = fields.Integer(attribute="project.id")
    name = fields.String(attribute="project.name")
    status = code(STATUSES, attribute="project.status")
    status_label = label(
        labels.PROJECT_STATUSES,
        "project.status",
        metadata={"description": "the Chinese label of `status`"},
    )
    category = code(CATEGORIES, attribute="project.category")
    category_label = label(
        labels.PROJECT_CATEGORIES,
        "project.category",
        metadata={"description": "the Chinese label of `category`"},
    )
    plan_year = fields.Integer(attribute="project.plan_year")
    next_milestone = fields.Nested(
        NextMilestoneSchema,
        allow_none=True,
        metadata={"description": "the earliest milestone not yet met; null when all are"},
    )


class OverdueMilestoneSchema(ma.Schema):
    project_id = fields.Integer()
    project_name = fields.String()
    kind = code(MILESTONES)
    kind_label = label(labels.MILESTONES, "kind")
    due_on = fields.String()
    done_on = fields.String(allow_none=True)
    days_late = fields.Integer(
        metadata={"description": "days past the due date: until today, or until it was met"}
    )


OPEN_WARRANTY_TICKETS = (
    "problems reported in the warranty period (保修期) not resolved yet: open, answered "
    "(waiting for the reporter to confirm) or reopened"
)


class ProjectProgressSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    status = code(STATUSES)
    status_label = label(labels.PROJECT_STATUSES, "status")
    category = code(CATEGORIES)
    category_label = label(labels.PROJECT_CATEGORIES, "category")
    plan_year = fields.Integer()
    plan_satisfaction_rate = fields.Float(allow_none=True)
    participation_rate = fields.Float(allow_none=True)
    gate_passed = fields.Boolean()
    gate_final = fields.Boolean()
    results_hidden = code(
        labels.RESULTS_HIDDEN, allow_none=True, metadata={"description": RESULTS_HIDDEN}
    )
    results_hidden_label = label(labels.RESULTS_HIDDEN, "results_hidden", allow_none=True)
    completion_satisfaction_rate = fields.Float(allow_none=True)
    completion_ratings = fields.Integer()
    warranty_ends_on = fields.Date(allow_none=True)
    open_warranty_tickets = fields.Integer(metadata={"description": OPEN_WARRANTY_TICKETS})


class ProjectFilter(ma.Schema):
    """The filters of the staff's project list; each narrows it, all together."""

    plan_year = fields.Integer(
        validate=validate.Range(2000, 2100), metadata={"description": "of this plan year"}
    )
    status = fields.String(validate=validate.OneOf(STATUSES))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    county_id = query_id(metadata={"description": "of this county"})
    q = text(100, metadata={"description": "names containing this text"})


class OverviewArgs(ma.Schema):
    plan_year = fields.Integer(
        validate=validate.Range(2000, 2100),
        metadata={"description": "only the projects of this plan year; all years when absent"},
    )


class GateCountsSchema(ma.Schema):
    passed = fields.Integer(metadata={"description": "final results that passed the gate"})
    shut = fields.Integer(metadata={"description": "final results that did not"})
    pending = fields.Integer(
        metadata={"description": "no final result yet (never consulted, or the vote is open)"}
    )


class OverviewFiguresSchema(ma.Schema):
    """A county's figures for the overview (`participation.queries.overview_summaries`)."""

    county_id = fields.Integer()
    county_name = fields.String()
    projects_total = fields.Integer()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_status_labels = keyed_labels(labels.PROJECT_STATUSES, "by_status")
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_category_labels = keyed_labels(labels.PROJECT_CATEGORIES, "by_category")
    gates = fields.Nested(GateCountsSchema)
    completion_satisfaction_rate = fields.Float(
        allow_none=True,
        metadata={"description": "the mean of the rated projects' rates; null when none is"},
    )
    completion_rated_projects = fields.Integer()
    completion_ratings = fields.Integer()
    overdue_count = fields.Integer(metadata={"description": "milestones overdue today"})
    open_warranty_tickets = fields.Integer(
        metadata={"description": f"of all its projects: {OPEN_WARRANTY_TICKETS}"}
    )
    plan_years = fields.List(
        fields.Integer(), metadata={"description": "the county's plan years, latest first"}
    )


class CountyOverviewSchema(OverviewFiguresSchema):
    plan_year = fields.Integer(allow_none=True)
    overdue_milestones = fields.List(fields.Nested(OverdueMilestoneSchema))
    projects = fields.List(fields.Nested(ProjectProgressSchema))


class PrefectureOverviewSchema(ma.Schema):
    items = fields.List(fields.Nested(OverviewFiguresSchema))
    page = fields.Integer(metadata={"description": "this page, from 1"})
    per_page = fields.Integer(metadata={"description": "items a page asked for"})
    total = fields.Integer(metadata={"description": "items of every page"})
    plan_year = fields.Integer(allow_none=True)
