"""What the estate rules endpoints (小区管理办法) take and give."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import LOCAL, labels, provided
from api.core.codes import code, label
from api.core.fields import DateTime, Text, id_field, mask_name, text
from feedback.estate_rules_queries import comments_open
from feedback.models.estate_rules import COMMENT_STATUSES, RULES_STATUSES

BODY_MAX = 50_000


class RulesArgs(ma.Schema):
    title = text(200, required=True)
    body = Text(required=True, validate=validate.Length(max=BODY_MAX))


class RulesPatchArgs(ma.Schema):
    class Meta:
        description = "A draft's title or text; once published 409 `rules_not_draft`."

    title = text(200)
    body = Text(validate=validate.Length(max=BODY_MAX))


class RulesPublishArgs(ma.Schema):
    comments_close_at = DateTime(
        allow_none=True,
        metadata={
            "description": "when residents' comments close (in the future: 422 "
            "`comments_close_past`); none: open until the version is decided or withdrawn"
        },
    )


class RulesDecisionArgs(ma.Schema):
    class Meta:
        description = (
            "An owners' decision (`owners_decision`) on the matter `management_statute` of a "
            "project covering the estate: 422 `decision_not_for_estate` (missing, or of a project "
            "not covering the estate), `not_owners_decision`, `decision_wrong_matter`; 409 `decision_already_used` "
            "when it decided another version of the estate."
        )

    consultation_id = id_field(required=True)


class RulesCommentArgs(ma.Schema):
    body = text(1000, required=True)


class RulesReplyArgs(ma.Schema):
    body = text(1000, required=True)


class RulesModerationArgs(ma.Schema):
    reason = text(500, required=True)


class RulesDecisionSchema(ma.Schema):
    """The linked owners' decision as it stands now."""

    id = fields.Integer(attribute="consultation_id")
    title = fields.String()
    status = code(tuple(labels.CONSULTATION_STATUSES))
    status_label = label(labels.CONSULTATION_STATUSES, "status")
    final = fields.Boolean(metadata={"description": "closed and finally counted"})
    passed_here = fields.Boolean(
        metadata={"description": "this estate passed in the final count (false until final)"}
    )


def _share(part, whole) -> float | None:
    if not whole:
        return None
    return round(part / whole, 6)


def result_summary(result: dict | None) -> dict | None:
    """The estate's figures of the decision's final count, as residents read them: the rule,
    participation and the shares that agreed and disagreed, by floor area and by owners
    (disagreement by owners is counted by households: the count keeps owners who agreed,
    not owners who disagreed)."""
    if not result:
        return None
    estate = result.get("estate") or {}
    art = estate.get("art278") or {}
    voted = estate.get("voted") or {}
    eligible = estate.get("eligible") or {}
    disagree = (estate.get("by_choice") or {}).get("disagree") or {}
    rule = art.get("rule") or result.get("rule")
    return {
        "consultation_id": result.get("consultation_id"),
        "title": result.get("title"),
        "closed_at": result.get("closed_at"),
        "passed": bool(result.get("passed")),
        "rule": rule,
        "eligible_owners": eligible.get("owners"),
        "voted_owners": voted.get("owners"),
        "agreeing_owners": art.get("agreeing_owners"),
        "eligible_area": eligible.get("floor_area"),
        "voted_area": voted.get("floor_area"),
        "participation_area": art.get("participation_area"),
        "participation_owners": art.get("participation_owners"),
        "agree_area_share": art.get("agree_area_share"),
        "agree_owner_share": art.get("agree_owner_share"),
        "disagree_area_share": _share(disagree.get("floor_area", 0), voted.get("floor_area")),
        "disagree_household_share": _share(disagree.get("households", 0), voted.get("households")),
    }


class RulesResultSchema(ma.Schema):
    """What the owners' decision decided for this estate (its final count's figures)."""

    consultation_id = fields.Integer()
    title = fields.String(metadata={"description": "the decision's title"})
    closed_at = fields.String(allow_none=True)
    passed = fields.Boolean()
    rule = code(tuple(labels.RULES), allow_none=True)
    rule_label = label(labels.RULES, "rule", allow_none=True)
    eligible_owners = fields.Integer(allow_none=True)
    voted_owners = fields.Integer(allow_none=True)
    agreeing_owners = fields.Integer(allow_none=True)
    eligible_area = fields.Float(allow_none=True, metadata={"description": "m²"})
    voted_area = fields.Float(allow_none=True, metadata={"description": "m²"})
    participation_area = fields.Float(allow_none=True)
    participation_owners = fields.Float(allow_none=True)
    agree_area_share = fields.Float(
        allow_none=True, metadata={"description": "of the participating floor area"}
    )
    agree_owner_share = fields.Float(
        allow_none=True, metadata={"description": "of the participating owners"}
    )
    disagree_area_share = fields.Float(
        allow_none=True, metadata={"description": "of the participating floor area"}
    )
    disagree_household_share = fields.Float(
        allow_none=True, metadata={"description": "of the participating households"}
    )


class RulesSchema(ma.Schema):
    id = fields.Integer()
    estate_id = fields.Integer()
    version = fields.Integer()
    title = fields.String()
    body = fields.String()
    status = code(RULES_STATUSES)
    status_label = label(labels.ESTATE_RULES_STATUSES, "status")
    published_at = fields.DateTime(allow_none=True)
    comments_close_at = fields.DateTime(allow_none=True)
    comments_open = fields.Boolean(metadata={"description": "residents may comment now"})
    decision = fields.Nested(
        RulesDecisionSchema,
        allow_none=True,
        attribute="decision_shown",
        metadata={"description": "the linked owners' decision as it stands now"},
    )
    decided_at = fields.DateTime(
        allow_none=True, metadata={"description": "when the owners' decision closed"}
    )
    result = fields.Nested(
        RulesResultSchema,
        allow_none=True,
        attribute="result_shown",
        metadata={"description": "this estate's figures, once the result is recorded"},
    )
    superseded_at = fields.DateTime(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


def shown(rules):
    """The version with what its reply shows beside its columns: whether comments are open,
    the linked decision as it stands now (voting's `decision_outcome`), this estate's result."""
    rules.comments_open = comments_open(rules)
    rules.result_shown = result_summary(rules.result)
    rules.decision_shown = None
    if rules.decision_id is not None:
        outcome = provided("decision_outcome")(rules.decision_id)
        if outcome is not None:
            rules.decision_shown = {
                "consultation_id": outcome.consultation_id,
                "title": outcome.title,
                "status": outcome.status,
                "final": outcome.final,
                "passed_here": rules.estate_id in outcome.passed_estate_ids,
            }
    return rules


class RulesInForceSchema(RulesSchema):
    """The adopted version in force, with the adoption date and the decision's result."""

    adopted_on = fields.Function(
        lambda rules: rules.decided_at.astimezone(LOCAL).date().isoformat(),
        metadata={"description": "the date (Asia/Shanghai) the owners' decision closed"},
    )


class RulesCommentSchema(ma.Schema):
    id = fields.Integer()
    rules_id = fields.Integer()
    author = fields.Function(
        lambda c: "已注销用户" if c.author_id is None else mask_name(c.author_nickname),
        metadata={"description": "masked nickname; 已注销用户 once the author is erased"},
    )
    mine = fields.Boolean()
    body = fields.String()
    status = code(COMMENT_STATUSES)
    status_label = label(labels.COMMENT_STATUSES, "status")
    status_reason = fields.Method(
        "_reason", allow_none=True, metadata={"description": "staff only: why hidden or shown"}
    )
    reply = fields.String(allow_none=True, metadata={"description": "the committee's answer"})
    replied_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()

    def _reason(self, comment):
        return comment.status_reason if getattr(comment, "for_staff", False) else None
