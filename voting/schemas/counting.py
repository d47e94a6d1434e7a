"""What the tally and the gate show of each estate (建筑区划) of a consultation."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from api.core import labels
from api.core.codes import code, keyed_labels, label

# The codes a count's figures hold, by key, and the labels given beside them (`<key>_label`).
_FIGURE_CODES = {
    "basis": labels.BASES,
    "gate_basis": labels.GATE_BASES,
    "matter": labels.MATTERS,
    "rule": labels.RULES,
    "item": labels.PLAN_ITEM_CATEGORIES,  # a needs survey's item: a plan item category or its own
    "results_hidden": labels.RESULTS_HIDDEN,
}


def labelled_figures(figures):
    """A copy of a count's figures with the Chinese labels beside their codes, at every depth:
    `by_choice_labels` ({choice: label}) beside `by_choice`, `item_label` in a needs survey's
    ranking rows, `matter_label` and `rule_label` in an owners' decision's `art278`, … Counts
    are not touched, and what redaction removed gets no label."""
    if isinstance(figures, list):
        return [labelled_figures(value) for value in figures]
    if not isinstance(figures, dict):
        return figures
    shown = {key: labelled_figures(value) for key, value in figures.items()}
    if isinstance(figures.get("by_choice"), dict):
        shown["by_choice_labels"] = {
            choice: labels.BALLOT_CHOICES.get(choice, choice) for choice in figures["by_choice"]
        }
    for key, table in _FIGURE_CODES.items():
        if isinstance(figures.get(key), str):
            shown[f"{key}_label"] = table.get(figures[key], figures[key])
    return shown


WEIGHTS = (
    "{households, persons, floor_area}; an owners' decision adds `owners` (by head: one owner "
    "of several units in the estate counts once)"
)


class EstateFiguresSchema(ma.Schema):
    """One estate's count: the same figures as the pooled ones, with its own verdict."""

    estate_id = fields.Integer()
    name = fields.String()
    passed = fields.Boolean(
        metadata={"description": "this estate passes on its own (a survey: always false)"}
    )
    satisfaction_rate = fields.Float(
        allow_none=True,
        metadata={
            "description": "plan satisfaction: by the consultation's `gate_basis`; owners' "
            "decision: the agreeing owners' share of the participating owners"
        },
    )
    participation_rate = fields.Float(allow_none=True)
    participation_households = fields.Float(
        allow_none=True,
        metadata={
            "description": "plan satisfaction: households voted of eligible; the quorum is met "
            "by households too, whatever the basis"
        },
    )
    by_choice = fields.Dict(metadata={"description": f"per choice: {WEIGHTS}"})
    by_choice_labels = keyed_labels(labels.BALLOT_CHOICES, "by_choice", allow_none=True)
    voted = fields.Dict(metadata={"description": WEIGHTS})
    eligible = fields.Dict(metadata={"description": WEIGHTS})
    art278 = fields.Dict(
        metadata={
            "description": "owners' decisions only: matter, rule, agreeing_owners, "
            "split_owners, participation_area, participation_owners, agree_area_share, "
            "agree_owner_share, quorum_met, agreed"
        }
    )
    ranking = fields.List(
        fields.Dict(),
        metadata={"description": "needs surveys only: {item, item_label, households}"},
    )
    results_hidden = code(
        labels.RESULTS_HIDDEN,
        allow_none=True,
        metadata={
            "description": "while the vote is open, why this estate shows participation only "
            "(`until_close`, `too_few_ballots`); absent or null: its result shows"
        },
    )
    results_hidden_label = label(labels.RESULTS_HIDDEN, "results_hidden", allow_none=True)

    @ma.post_dump
    def _labelled(self, data, **kwargs):
        for name in ("ranking", "art278"):
            if name in data:
                data[name] = labelled_figures(data[name])
        return data


def estates_field() -> fields.List:
    return fields.List(
        fields.Nested(EstateFiguresSchema),
        metadata={
            "description": "each estate's figures: every kind is counted per estate, and the "
            "consultation passes only when every estate passes"
        },
    )


def held_by_field() -> fields.List:
    return fields.List(
        fields.Integer(),
        metadata={"description": "ids of the estates that do not pass (none for a survey)"},
    )
