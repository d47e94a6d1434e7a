"""What the door-to-door list takes and gives: `GET /consultations/{id}/non-voters`, the
electorate's households that have not voted, for the committee's visits (上门走访)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from api.core.fields import mask_name, query_id


class NonVoterFilter(ma.Schema):
    building_id = query_id(
        metadata={"description": "one building of the list (422 `building_not_in_list`)"}
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
