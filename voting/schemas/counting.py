"""What the tally and the gate show of each estate (建筑区划) of a consultation."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

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
        fields.Dict(), metadata={"description": "needs surveys only: {item, households}"}
    )
    results_hidden = fields.String(
        allow_none=True,
        metadata={
            "description": "while the vote is open, why this estate shows participation only "
            "(`until_close`, `too_few_ballots`); absent or null: its result shows"
        },
    )


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
