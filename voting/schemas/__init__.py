"""What the consultation, ballot and gate endpoints take and give; the package's other modules
hold the schemas of one subject each: `counting` (per-estate figures), `delegations`,
`opinions` (residents' reasons and replies), `paper` (paper ballots' evidence, non-voters),
`timeline` (consultations on a project's timeline)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels
from api.core.codes import code, label, labels_of
from api.core.fields import DateTime, Text, id_field, text
from voting.models import (
    ALL_CHOICES,
    BASES,
    CHANNELS,
    GATE_BASES,
    KINDS,
    MATTERS,
    RULES,
    STATUSES,
)
from voting.schemas.counting import estates_field, held_by_field, labelled_figures
from voting.service.consultations import earliest_close_at

OPINIONS = tuple(labels.OPINIONS)


class ConsultationArgs(ma.Schema):
    class Meta:
        description = (
            "`plan_satisfaction` puts a plan version to residents: `plan_id` must be one of "
            "this project's plans (default: the current plan; 422 `plan_required`) newer than "
            "any plan already put to a closed satisfaction consultation of the project (409 "
            "`plan_unchanged`), `threshold` may not be below 0.9 (422 `threshold_below_policy`) "
            "nor `quorum` below 2/3 (422 `quorum_below_policy`), and `closes_at` may not be "
            "sooner than `opens_at` (or now) plus GATE_MIN_OPEN_DAYS days (422 "
            "`closes_too_soon`). Another kind may name a plan of this project (422 "
            "`plan_not_in_project`). `closes_at` must be after `opens_at` and after now (422 "
            "`closes_before_opens`). `matter` is required for `owners_decision` (422 "
            "`matter_required`) and refused for other kinds (422 `matter_not_applicable`); the "
            "matter decides the rule (3/4 for raise_maintenance_fund, rebuild, "
            "change_common_use; more than half otherwise), so `rule` is not taken (422). An "
            "owners' decision's `quorum` may not be below 2/3 (422 `quorum_below_law`). "
            "`options` only for `needs_survey` (default: every plan item category; else 422 "
            "`options_not_applicable`)."
        )

    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    plan_id = id_field(allow_none=True)
    title = text(200)
    description = Text(validate=validate.Length(max=5000), allow_none=True)
    opens_at = DateTime(allow_none=True)
    closes_at = DateTime(allow_none=True)
    threshold = fields.Float(
        validate=validate.Range(min=0, max=1, min_inclusive=False), allow_nan=False
    )
    quorum = fields.Float(validate=validate.Range(min=0, max=1), allow_nan=False)
    basis = fields.String(validate=validate.OneOf(BASES))
    matter = fields.String(
        validate=validate.OneOf(MATTERS),
        metadata={"description": "owners' decisions: the Civil Code art. 278 matter"},
    )
    options = fields.List(text(40), validate=validate.Length(min=1, max=50))

    @ma.pre_load
    def refuse_rule(self, data, **kwargs):
        """The rule is no longer the clerk's to pick: say so, rather than "unknown field"."""
        if isinstance(data, dict) and "rule" in data:
            why = "表决规则由所议事项决定（《民法典》第二百七十八条），不能自行指定；请填写所议事项 matter"
            raise ma.ValidationError([why], "rule")
        return data


class ItemOpinionArgs(ma.Schema):
    opinion = fields.String(required=True, validate=validate.OneOf(OPINIONS))
    comment = text(200)


class BallotArgs(ma.Schema):
    class Meta:
        description = (
            "A `needs_survey` ballot gives `items`, some of the consultation's options (422 "
            "`items_required`, `invalid_choice`), and no `choice`; any other kind gives `choice`, "
            "one of the consultation's `choices` (422 `invalid_choice`), and no `items` (422 "
            "`items_not_applicable`). `item_opinions` only for `plan_satisfaction` (422 "
            "`opinions_not_applicable`), keyed by ids of the plan's items (422 "
            "`unknown_plan_item`). `household_id` is needed when the resident votes for several "
            "households (422 `household_required`)."
        )

    choice = fields.String(validate=validate.Length(max=20))
    items = fields.List(
        fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=50)
    )
    comment = Text(validate=validate.Length(max=500), allow_none=True)
    item_opinions = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[0-9]{1,10}$")),
        values=fields.Nested(ItemOpinionArgs),
        validate=validate.Length(max=200),
        metadata={"description": "{plan item id: {opinion, comment?}}"},
    )
    household_id = id_field(
        metadata={"description": "needed only by members of several households"}
    )


class PaperBallotArgs(BallotArgs):
    class Meta:
        description = (
            "The ballot rules of BallotArgs, for `household_id`, which must be in the "
            "consultation's electorate; `assisted_by` is required when `channel` is `assisted` "
            "(422 `assisted_by_required`). `evidence_upload_id` is the recording clerk's own "
            "upload of this project (POST /projects/{id}/uploads: a photo of the signed form; "
            "422 `upload_invalid` for another's, a resident's or another project's; 422 "
            "`upload_published` for a plan's attachment or a progress photo). A paper "
            "or assisted ballot that replaces the household's WeChat ballot sends its members "
            "a notice (`ballot_replaced`), never saying what was chosen."
        )

    household_id = id_field(required=True)
    channel = fields.String(load_default="paper", validate=validate.OneOf(CHANNELS[1:]))
    evidence_upload_id = id_field(
        required=True,
        metadata={"description": "id of the clerk's own upload of this project: the form"},
    )
    evidence_note = Text(validate=validate.Length(max=200), allow_none=True)
    assisted_by = text(100)


def _items_labels(**kwargs):
    """The labels of a needs survey's items: a plan item category's, or the option itself."""
    return labels_of(labels.PLAN_ITEM_CATEGORIES, "items", **kwargs)


class ReceiptSchema(ma.Schema):
    receipt = fields.String()
    choice = code(ALL_CHOICES)
    choice_label = label(labels.BALLOT_CHOICES, "choice")
    items = fields.List(fields.String(), allow_none=True)
    items_labels = _items_labels(allow_none=True)
    household_id = fields.Integer()
    updated_at = fields.DateTime()
    revision = fields.Integer(
        metadata={
            "description": "the household ballot's change number: of two replies, the one with "
            "the higher revision is the ballot that counts (times of racing requests may not be)"
        }
    )


class PaperReceiptSchema(ma.Schema):
    """What a clerk gets back: the receipt, never the choice (ballots are secret)."""

    receipt = fields.String()
    household_id = fields.Integer()
    updated_at = fields.DateTime()


class MyItemOpinionSchema(ma.Schema):
    opinion = code(OPINIONS)
    opinion_label = label(labels.OPINIONS, "opinion")
    comment = fields.String()


class MyBallotSchema(ma.Schema):
    receipt = fields.String()
    choice = code(ALL_CHOICES)
    choice_label = label(labels.BALLOT_CHOICES, "choice")
    items = fields.List(fields.String())
    items_labels = _items_labels()
    comment = fields.String(allow_none=True)
    item_opinions = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(MyItemOpinionSchema),
        allow_none=True,
        metadata={"description": "{plan item id: {opinion, opinion_label, comment?}}"},
    )
    channel = code(CHANNELS)
    channel_label = label(labels.CHANNELS, "channel")
    household_id = fields.Integer()
    revision = fields.Integer()
    updated_at = fields.DateTime()


class EligibilitySchema(ma.Schema):
    eligible = fields.Boolean()
    reason = code(
        labels.INELIGIBILITY_REASONS,
        allow_none=True,
        metadata={
            "description": "why not: not_verified, other_estate, consultation_not_open, "
            "joined_after_opening, not_an_owner (an owners' decision: owners and their "
            "verified delegates vote)"
        },
    )
    reason_label = label(labels.INELIGIBILITY_REASONS, "reason", allow_none=True)
    households = fields.List(fields.Integer())
    delegated = fields.List(
        fields.Integer(),
        metadata={"description": "of `households`, those the resident votes for as delegate"},
    )


def _fraction(value):
    return float(value)


class ConsultationSchema(ma.Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    plan_id = fields.Integer(allow_none=True)
    kind = code(KINDS)
    kind_label = label(labels.CONSULTATION_KINDS, "kind")
    title = fields.String()
    question = fields.Function(lambda c: QUESTIONS[c.kind], metadata={"type": "string"})
    description = fields.String(allow_none=True)
    status = code(STATUSES)
    status_label = label(labels.CONSULTATION_STATUSES, "status")
    choices = fields.Function(
        lambda c: list(labels.CHOICES[c.kind]),
        metadata={"type": "array", "items": {"type": "string"}},
    )
    choices_labels = fields.Function(
        lambda c: list(labels.CHOICES[c.kind].values()),
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "the Chinese labels of `choices`, in its order",
        },
    )
    choice_labels = fields.Function(
        lambda c: labels.CHOICES[c.kind],
        metadata={
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "{choice: its Chinese label}",
        },
    )
    options = fields.List(
        fields.String(),
        metadata={
            "description": "a needs survey's items to pick from: plan item categories (the "
            "default) or the clerk's own"
        },
    )
    options_labels = labels_of(
        labels.PLAN_ITEM_CATEGORIES,
        "options",
        metadata={
            "description": "the Chinese labels of `options`, in its order (an option of the "
            "clerk's own is its own label)"
        },
    )
    opens_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime(allow_none=True)
    opened_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    threshold = fields.Function(lambda c: float(c.threshold), metadata={"type": "number"})
    quorum = fields.Function(lambda c: float(c.quorum), metadata={"type": "number"})
    basis = code(BASES)
    basis_label = label(labels.BASES, "basis")
    gate_basis = code(
        GATE_BASES,
        metadata={
            "description": "the gate's reading, frozen at creation: `ballots` (satisfied ÷ "
            "ballots cast, with the quorum) or `households` (satisfied ÷ eligible households)"
        },
    )
    gate_basis_label = label(labels.GATE_BASES, "gate_basis")
    rule = code(
        RULES,
        allow_none=True,
        metadata={"description": "owners' decisions: decided by the matter"},
    )
    rule_label = label(labels.RULES, "rule", allow_none=True)
    matter = code(MATTERS, allow_none=True)
    matter_label = label(labels.MATTERS, "matter", allow_none=True)
    earliest_close_at = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "plan satisfaction: the earliest a clerk may close it unless every "
            "eligible household has voted (its opening plus GATE_MIN_OPEN_DAYS); null for other "
            "kinds"
        },
    )
    eligible_households = fields.Integer()
    eligibility = fields.Nested(
        EligibilitySchema,
        allow_none=True,
        metadata={"description": "the calling resident's; null for staff"},
    )

    @ma.pre_dump
    def _minimum_period(self, consultation, **kwargs):
        consultation.earliest_close_at = earliest_close_at(consultation)
        return consultation


QUESTIONS = {
    "plan_satisfaction": "您对本改造方案是否满意？",
    "needs_survey": "您希望本小区改造哪些内容？（可多选）",
    "owners_decision": "您是否同意本事项？",
}


class HomeEligibilitySchema(ma.Schema):
    eligible = fields.Boolean()
    reason = code(
        ("not_an_owner", "joined_after_opening"),
        allow_none=True,
        metadata={
            "description": "why not: not_an_owner (an owners' decision: owners and their "
            "verified delegates vote), joined_after_opening (verified after the electorate "
            "was frozen)"
        },
    )
    reason_label = label(labels.INELIGIBILITY_REASONS, "reason", allow_none=True)


class HomeConsultationSchema(ma.Schema):
    """A consultation open to the resident's household, as their home screen lists it
    (`voting.queries.consultations.OpenToResident`)."""

    id = fields.Integer(attribute="consultation.id")
    project_id = fields.Integer(attribute="consultation.project_id")
    project_name = fields.String()
    title = fields.String(attribute="consultation.title")
    kind = code(KINDS, attribute="consultation.kind")
    kind_label = label(
        labels.CONSULTATION_KINDS,
        "consultation.kind",
        metadata={"description": "the Chinese label of `kind`"},
    )
    closes_at = fields.DateTime(attribute="consultation.closes_at", allow_none=True)
    voted = fields.Boolean(
        metadata={
            "description": "eligible: every household the resident votes for has a ballot; "
            "not eligible: one of their households has one (another member voted)"
        }
    )
    eligibility = fields.Nested(HomeEligibilitySchema)


class TurnoutRowSchema(ma.Schema):
    receipt = fields.String()
    household = fields.String(metadata={"description": "masked address, e.g. 1栋1单元1**"})
    channel = code(CHANNELS, metadata={"description": "wechat, paper or assisted"})
    channel_label = label(labels.CHANNELS, "channel")
    delegated = fields.Boolean(
        metadata={"description": "cast by a delegate of the household's owner (委托投票)"}
    )
    voted_on = fields.Date(
        metadata={
            "description": "the local day (Asia/Shanghai) of the household's last ballot: a "
            "day, not a time, so that a row cannot be matched to a moving count"
        }
    )


class TurnoutSchema(ma.Schema):
    consultation_id = fields.Integer()
    eligible = fields.Integer()
    voted = fields.Integer()
    items = fields.List(fields.Nested(TurnoutRowSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


RESULTS_HIDDEN = (
    "null when the full result shows; else why only participation shows: `until_close` "
    "(residents, before the close) or `too_few_ballots` (staff, while fewer than "
    "RESULTS_MIN_BALLOTS households voted). Hidden: counts per choice and rates are removed at "
    "every depth, `satisfaction_rate` is null and `passed` false (docs/gate.md)"
)


class GateSchema(ma.Schema):
    passed = fields.Boolean()
    satisfaction_rate = fields.Float(allow_none=True)
    participation_rate = fields.Float(allow_none=True)
    threshold = fields.Float(allow_none=True)
    quorum = fields.Float(allow_none=True)
    basis = code(BASES, allow_none=True)
    basis_label = label(labels.BASES, "basis", allow_none=True)
    counted = fields.Integer()
    eligible = fields.Integer()
    final = fields.Boolean()
    stale = fields.Boolean(metadata={"description": "ballots arrived after this count"})
    computed_at = fields.DateTime(allow_none=True)
    consultation_id = fields.Integer(allow_none=True)
    plan_id = fields.Integer(allow_none=True)
    plan_version = fields.Integer(allow_none=True)
    reason = code(
        ("no_consultation", "consultation_open", "not_passed"),
        allow_none=True,
        metadata={"description": "why it is not passed; null when it is"},
    )
    reason_label = label(labels.GATE_REASONS, "reason", allow_none=True)
    gate_basis = code(
        GATE_BASES,
        metadata={
            "description": "the reading of satisfaction, frozen when the consultation was "
            "created: `ballots` (satisfied ÷ ballots cast) or `households` (satisfied ÷ every "
            "eligible); with no consultation, the reading a new one would take"
        },
    )
    gate_basis_label = label(labels.GATE_BASES, "gate_basis")
    figures = fields.Dict(
        metadata={
            "description": "the pooled totals: basis, gate_basis, by_choice, voted, eligible "
            "(each code with its Chinese label beside it: `by_choice_labels`, …)"
        }
    )
    estates = estates_field()
    held_by = held_by_field()
    rule = fields.String()
    results_hidden = code(
        labels.RESULTS_HIDDEN, allow_none=True, metadata={"description": RESULTS_HIDDEN}
    )
    results_hidden_label = label(labels.RESULTS_HIDDEN, "results_hidden", allow_none=True)

    @ma.post_dump
    def _labelled(self, data, **kwargs):
        if "figures" in data:
            data["figures"] = labelled_figures(data["figures"])
        return data


class TallySchema(ma.Schema):
    consultation_id = fields.Integer()
    computed_at = fields.DateTime(allow_none=True)
    final = fields.Boolean()
    passed = fields.Boolean()
    satisfaction_rate = fields.Float(allow_none=True)
    participation_rate = fields.Float(allow_none=True)
    counted = fields.Integer()
    eligible = fields.Integer()
    figures = fields.Dict(
        metadata={
            "description": "the pooled totals (basis; gate_basis for plan satisfaction; "
            "by_choice, voted, eligible; art278 or ranking by kind), `estates` (each estate's "
            "figures and `passed`: every kind is counted per estate) and `held_by` (ids of the "
            "estates that do not pass); each code with its Chinese label beside it "
            "(`by_choice_labels`, a ranking row's `item_label`, `art278`'s `matter_label` and "
            "`rule_label`, …)"
        }
    )
    results_hidden = code(
        labels.RESULTS_HIDDEN, allow_none=True, metadata={"description": RESULTS_HIDDEN}
    )
    results_hidden_label = label(labels.RESULTS_HIDDEN, "results_hidden", allow_none=True)

    @ma.post_dump
    def _labelled(self, data, **kwargs):
        if "figures" in data:
            data["figures"] = labelled_figures(data["figures"])
        return data
