"""What the door-to-door list takes and gives: `GET /consultations/{id}/non-voters`, the
electorate's households that have not voted, for the committee's visits (上门走访); and the
turnout's query string: `GET /consultations/{id}/turnout?receipt=…`, a household checking that
its ballot was counted (the turnout's reply is `TurnoutSchema`); and the floor grid of one
building, `GET /consultations/{id}/turnout/grid`: which doors voted, and how."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from api.core.codes import code, label
from api.core.fields import mask_name, query_id
from voting.models import RECEIPT_ALPHABET


class NonVoterFilter(ma.Schema):
    building_id = query_id(
        metadata={"description": "one building of the list (422 `building_not_in_list`)"}
    )


class Receipt(fields.String):
    """A ballot's receipt code as a resident types it: 10 characters of Crockford's base32,
    in either case, with surrounding white space removed; given back in upper case."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if len(value) != 10 or any(c not in RECEIPT_ALPHABET for c in value):
            raise ma.ValidationError("回执码应为10位字母或数字（不含 I、L、O、U）")
        return value


class TurnoutFilter(ma.Schema):
    receipt = Receipt(
        metadata={
            "description": "a household's receipt code (10 characters of Crockford's base32, "
            "either case): the reply holds only its row, or no row (`total` 0) when no ballot "
            "of this consultation has it; 422 when it is not a receipt code",
            "pattern": "^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{10}$",
        }
    )


class NonVoterSchema(ma.Schema):
    household_id = fields.Integer()
    estate = fields.String()
    building_id = fields.Integer()
    building = fields.String()
    unit = fields.String()
    room = fields.String()
    owner_name = fields.Function(
        lambda row: mask_name(row["owner_name"]),
        metadata={"description": "the roster's owner of record, masked: 张*, 欧**娜"},
    )


class BuildingCountSchema(ma.Schema):
    building_id = fields.Integer()
    name = fields.String()
    estate = fields.String()
    eligible = fields.Integer(metadata={"description": "households of the frozen electorate"})
    not_voted = fields.Integer()


class NonVotersSchema(ma.Schema):
    consultation_id = fields.Integer()
    eligible = fields.Integer(metadata={"description": "in the caller's communities"})
    not_voted = fields.Integer(metadata={"description": "in the caller's communities"})
    buildings = fields.List(
        fields.Nested(BuildingCountSchema),
        metadata={"description": "every building in the caller's communities, filter or not"},
    )
    items = fields.List(fields.Nested(NonVoterSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer(metadata={"description": "households listed, after the filter"})


# --- the floor grid: `GET /consultations/{id}/turnout/grid` ----------------------------------

GRID_STATUS_LABELS = {
    "wechat": "已投票（微信）",
    "paper": "纸质选票",
    "assisted": "协助投票",
    "not_voted": "未投票",
    "not_in_electorate": "不在本次表决名单",
}


class GridFilter(ma.Schema):
    building_id = query_id(
        metadata={
            "description": "the building to draw (default: the first of `buildings`; 422 "
            "`building_not_in_list` for one outside the caller's list)"
        }
    )


class GridRoomSchema(ma.Schema):
    household_id = fields.Integer()
    room = fields.String()
    status = code(
        GRID_STATUS_LABELS,
        metadata={
            "description": "wechat, paper, assisted (the channel of the household's ballot), "
            "not_voted, or not_in_electorate (on the roster, not in the frozen electorate)"
        },
    )
    status_label = label(GRID_STATUS_LABELS, "status")


class GridFloorSchema(ma.Schema):
    floor = fields.Integer(
        allow_none=True,
        metadata={"description": "from the room number (1203 → 12); null when it does not say one"},
    )
    rooms = fields.List(fields.Nested(GridRoomSchema))


class GridUnitSchema(ma.Schema):
    unit = fields.String()
    floors = fields.List(
        fields.Nested(GridFloorSchema),
        metadata={"description": "lowest floor first; rooms without a floor last"},
    )


class TurnoutGridSchema(ma.Schema):
    consultation_id = fields.Integer()
    buildings = fields.List(
        fields.Nested(BuildingCountSchema),
        metadata={"description": "every building of the electorate in the caller's communities"},
    )
    building = fields.Nested(
        BuildingCountSchema, allow_none=True, metadata={"description": "the one drawn"}
    )
    units = fields.List(fields.Nested(GridUnitSchema))
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "households of the building drawn, per status"},
    )
