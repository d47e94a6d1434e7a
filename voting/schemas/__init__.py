"""What the consultation, ballot and gate endpoints take and give; the package's other modules
hold the schemas of one subject each: `counting` (per-estate figures), `delegations`,
`opinions` (residents' reasons and replies), `paper` (paper ballots' evidence, non-voters)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels
from api.core.fields import DateTime, Text, id_field, mask_name, text
from voting.models import BASES, CHANNELS, KINDS, MATTERS
from voting.schemas.counting import estates_field, held_by_field
from voting.service.consultations import earliest_close_at

OPINIONS = ("support", "oppose", "neutral")


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
        keys=fields.String(validate=validate.Regexp(r"^\d{1,10}$")),
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
            "422 `upload_invalid` for another's, a resident's or another project's). A paper "
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


class ReceiptSchema(ma.Schema):
    receipt = fields.String()
    choice = fields.String()
    items = fields.List(fields.String(), allow_none=True)
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


class MyBallotSchema(ma.Schema):
    receipt = fields.String()
    choice = fields.String()
    items = fields.List(fields.String())
    comment = fields.String(allow_none=True)
    item_opinions = fields.Dict(allow_none=True)
    channel = fields.String()
    household_id = fields.Integer()
    revision = fields.Integer()
    updated_at = fields.DateTime()


class EligibilitySchema(ma.Schema):
    eligible = fields.Boolean()
    reason = fields.String(
        allow_none=True,
        metadata={
            "description": "why not: not_verified, other_estate, consultation_not_open, "
            "joined_after_opening, not_an_owner (an owners' decision: owners and their "
            "verified delegates vote)"
        },
    )
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
    kind = fields.String()
    title = fields.String()
    question = fields.Function(lambda c: QUESTIONS[c.kind])
    description = fields.String(allow_none=True)
    status = fields.String()
    choices = fields.Function(lambda c: list(labels.CHOICES[c.kind]))
    choice_labels = fields.Function(lambda c: labels.CHOICES[c.kind])
    options = fields.List(fields.String())
    opens_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime(allow_none=True)
    opened_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    threshold = fields.Function(lambda c: float(c.threshold))
    quorum = fields.Function(lambda c: float(c.quorum))
    basis = fields.String()
    gate_basis = fields.String(
        metadata={
            "description": "the gate's reading, frozen at creation: `ballots` (satisfied ÷ "
            "ballots cast, with the quorum) or `households` (satisfied ÷ eligible households)"
        }
    )
    rule = fields.String(
        allow_none=True, metadata={"description": "owners' decisions: decided by the matter"}
    )
    matter = fields.String(allow_none=True)
    matter_label = fields.Function(
        lambda c: labels.MATTERS.get(c.matter) if c.matter else None, allow_none=True
    )
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


class TurnoutRowSchema(ma.Schema):
    receipt = fields.String()
    household = fields.String(metadata={"description": "masked address, e.g. 1栋1单元1**"})
    channel = fields.String(metadata={"description": "wechat, paper or assisted"})
    channel_label = fields.Function(lambda row: labels.CHANNELS[row["channel"]])
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
    basis = fields.String(allow_none=True)
    counted = fields.Integer()
    eligible = fields.Integer()
    final = fields.Boolean()
    stale = fields.Boolean(metadata={"description": "ballots arrived after this count"})
    computed_at = fields.DateTime(allow_none=True)
    consultation_id = fields.Integer(allow_none=True)
    plan_id = fields.Integer(allow_none=True)
    plan_version = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    gate_basis = fields.String(
        metadata={
            "description": "the reading of satisfaction, frozen when the consultation was "
            "created: `ballots` (satisfied ÷ ballots cast) or `households` (satisfied ÷ every "
            "eligible); with no consultation, the reading a new one would take"
        }
    )
    figures = fields.Dict(
        metadata={"description": "the pooled totals: basis, gate_basis, by_choice, voted, eligible"}
    )
    estates = estates_field()
    held_by = held_by_field()
    rule = fields.String()
    results_hidden = fields.String(allow_none=True, metadata={"description": RESULTS_HIDDEN})


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
            "estates that do not pass)"
        }
    )
    results_hidden = fields.String(allow_none=True, metadata={"description": RESULTS_HIDDEN})


def mask_address(building: str, unit: str, room: str) -> str:
    """1栋 1单元 101 → 1栋1单元1**: enough to find one's own line, not a neighbour's."""
    return (
        f"{building}{unit}{mask_name(room) if len(room) < 3 else room[0] + '*' * (len(room) - 1)}"
    )
