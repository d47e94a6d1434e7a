"""What the consultation, ballot and gate endpoints take and give."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels
from api.core.fields import DateTime, Text, id_field, mask_name, text
from voting.models import BASES, CHANNELS, KINDS, RULES

OPINIONS = ("support", "oppose", "neutral")


class ConsultationArgs(ma.Schema):
    class Meta:
        description = (
            "`plan_satisfaction` puts a plan version to residents: `plan_id` must be one of "
            "this project's plans (default: the current plan; 422 `plan_required`), and "
            "`threshold` may not be below 0.9 (422 `threshold_below_policy`). Another kind may "
            "name a plan of this project (422 `plan_not_in_project`). `closes_at` must be after "
            "`opens_at` and after now (422 `closes_before_opens`). `rule` only for "
            "`owners_decision` (default `majority`; else 422 `rule_not_applicable`), whose "
            "`quorum` may not be below 2/3 (422 `quorum_below_law`). `options` only for "
            "`needs_survey` (default: every plan item category; else 422 "
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
    rule = fields.String(validate=validate.OneOf(RULES))
    options = fields.List(text(40), validate=validate.Length(min=1, max=50))


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
            "(422 `assisted_by_required`)."
        )

    household_id = id_field(required=True)
    channel = fields.String(load_default="paper", validate=validate.OneOf(CHANNELS[1:]))
    evidence_url = fields.Url(required=True, validate=validate.Length(max=500))
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
    reason = fields.String(allow_none=True)
    households = fields.List(fields.Integer())


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
    rule = fields.String(allow_none=True)
    eligible_households = fields.Integer()
    eligibility = fields.Nested(
        EligibilitySchema,
        allow_none=True,
        metadata={"description": "the calling resident's; null for staff"},
    )


QUESTIONS = {
    "plan_satisfaction": "您对本改造方案是否满意？",
    "needs_survey": "您希望本小区改造哪些内容？（可多选）",
    "owners_decision": "您是否同意本事项？",
}


class TurnoutRowSchema(ma.Schema):
    receipt = fields.String()
    household = fields.String(metadata={"description": "masked address, e.g. 1栋1单元1**"})
    channel = fields.String()
    voted_at = fields.DateTime()


class TurnoutSchema(ma.Schema):
    consultation_id = fields.Integer()
    eligible = fields.Integer()
    voted = fields.Integer()
    items = fields.List(fields.Nested(TurnoutRowSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


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
    figures = fields.Dict()
    rule = fields.String()


class TallySchema(ma.Schema):
    consultation_id = fields.Integer()
    computed_at = fields.DateTime(allow_none=True)
    final = fields.Boolean()
    passed = fields.Boolean()
    satisfaction_rate = fields.Float(allow_none=True)
    participation_rate = fields.Float(allow_none=True)
    counted = fields.Integer()
    eligible = fields.Integer()
    figures = fields.Dict()


def mask_address(building: str, unit: str, room: str) -> str:
    """1栋 1单元 101 → 1栋1单元1**: enough to find one's own line, not a neighbour's."""
    return (
        f"{building}{unit}{mask_name(room) if len(room) < 3 else room[0] + '*' * (len(room) - 1)}"
    )
