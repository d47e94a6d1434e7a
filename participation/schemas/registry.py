"""What the registry endpoints take (`…Args`) and give (`…Schema`)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.core import labels
from api.core.codes import code, label
from api.core.fields import (
    Text,
    id_field,
    mask_address,
    mask_name,
    mask_phone_last4,
    query_id,
    text,
    unstorable,
)
from participation.models import CLAIM_STATUSES, RELATIONS, ROLES
from participation.service.roster import roster_area

# --- places -------------------------------------------------------------------------------


class CountyArgs(ma.Schema):
    name = text(100, required=True)


class CommunityArgs(ma.Schema):
    county_id = id_field(required=True)
    name = text(100, required=True)


class EstateArgs(ma.Schema):
    community_id = id_field(required=True)
    name = text(100, required=True)
    address = text(200, allow_none=True)


class CommunityFilter(ma.Schema):
    county_id = query_id()
    id = fields.List(
        query_id(),
        validate=validate.Length(max=100, error="一次最多查询100个社区"),
        metadata={"description": "only these communities (`?id=3&id=7`): a clerk's own, by name"},
    )


class EstateFilter(ma.Schema):
    community_id = query_id()


class HouseholdFilter(ma.Schema):
    building_id = query_id(metadata={"description": "one building of the estate"})
    room = text(20, metadata={"description": "rooms containing this text (e.g. 10 finds 101)"})


class CountySchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()


class CommunitySchema(ma.Schema):
    id = fields.Integer()
    county_id = fields.Integer()
    name = fields.String()


class EstateSchema(ma.Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    name = fields.String()
    address = fields.String(allow_none=True)


# --- households ---------------------------------------------------------------------------


class HouseholdSchema(ma.Schema):
    """A roster row as staff see it: the owner's name and phone digits masked."""

    id = fields.Integer()
    estate_id = fields.Integer()
    building = fields.Function(lambda h: h.building.name, metadata={"type": "string"})
    unit = fields.String()
    room = fields.String()
    floor_area = fields.Float()
    owner_name = fields.Function(lambda h: mask_name(h.owner_name), metadata={"type": "string"})
    owner_phone_last4 = fields.Function(
        lambda h: mask_phone_last4(h.owner_phone_last4), metadata={"type": "string"}
    )
    updated_at = fields.DateTime()


OWNER_CHANGES = ("correction", "new_owner")


class RosterArea(fields.Decimal):
    """A floor area in square metres: a JSON number (not text, not a boolean), greater than 0
    and less than 100,000 once rounded to the roster's two places."""

    def __init__(self, **kwargs):
        super().__init__(
            places=None,
            allow_nan=False,
            metadata={
                "type": "number",
                "minimum": 0,
                "exclusiveMinimum": True,
                "maximum": 99999.99,
            },
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ma.ValidationError("建筑面积应为数字（平方米）")
        area, problem = roster_area(str(value))  # the import's own rule
        if problem:
            raise ma.ValidationError(problem)
        return area


class HouseholdPatchArgs(ma.Schema):
    class Meta:
        description = (
            "Any of the roster row's fields, at least one; the address (`building`, `unit`, "
            "`room`) stays in the household's estate. `owner_change` says what a new "
            "`owner_name` or `owner_phone_last4` means, and is required when either changes "
            "(422 `owner_change_required`): `correction` (the roster was mistyped; the "
            "household's verified members stay) or `new_owner` (the dwelling changed hands; the "
            "verified owner and family claims that do not name the new owner are revoked, as a "
            "roster re-import revokes them, and each resident is told why)."
        )

    building = text(50)
    unit = fields.String(
        validate=validate.Length(max=20),
        metadata={"description": 'the unit; "" where the building has none'},
    )
    room = text(20)
    owner_name = text(100)
    owner_phone_last4 = fields.String(
        validate=[
            validate.Length(equal=4, error="手机后四位应为4位数字"),
            validate.Regexp(r"^[0-9]{4}$", error="手机后四位应为4位数字"),
        ],
        metadata={"description": "the last four digits of the owner's phone"},
    )
    floor_area = RosterArea()
    owner_change = fields.String(
        validate=validate.OneOf(
            OWNER_CHANGES, error="应为 correction（更正）或 new_owner（业主变更）"
        ),
        metadata={
            "description": "correction | new_owner; required when the owner's name or "
            "phone digits change"
        },
    )

    @ma.pre_load
    def _strip_unit(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("unit"), str):
            data = {**data, "unit": data["unit"].strip()}
        return data

    @ma.validates("unit")
    def _storable_unit(self, value, **kwargs):
        problem = unstorable(value)
        if problem:
            raise ma.ValidationError(problem)

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not set(data) - {"owner_change"}:
            raise ma.ValidationError("请至少修改一项", "_schema")


class HouseholdEditSchema(HouseholdSchema):
    """The household after the edit (masked), with what the edit did to its members."""

    revoked = fields.Integer(
        metadata={
            "description": "verified owner and family claims this edit revoked (new_owner only)"
        }
    )


class BuildingSchema(ma.Schema):
    """A building of an estate, for the claim's pick list."""

    id = fields.Integer()
    name = fields.String()


class UnitSchema(ma.Schema):
    """A unit of a building; "" where the building has no units (then omit `?unit=`)."""

    unit = fields.String()


class UnitFilter(ma.Schema):
    unit = Text(
        validate=validate.Length(max=20),
        load_default=lambda: "",
        metadata={"description": "the unit, as the units list gives it; omit where there is none"},
    )


class RoomSchema(ma.Schema):
    """A room of a unit: the household's id and its room, nothing of its owner."""

    household_id = fields.Integer()
    room = fields.String()


class ImportArgs(ma.Schema):
    """The roster file comes as multipart field `file`."""

    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class ImportResultSchema(ma.Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    rows = fields.Integer()
    revoked = fields.Integer(
        metadata={
            "description": "verified owner and family claims revoked because the file changed "
            "their household's owner (each resident is told by a notice)"
        }
    )


# --- claims -------------------------------------------------------------------------------


class ClaimArgs(ma.Schema):
    estate_id = id_field(required=True)
    building = text(50, required=True)
    # Omitted where the building has no units. The default is a callable so that the document
    # shows none: "" is not a value one may send (blank text is refused).
    unit = Text(
        validate=validate.Length(max=20),
        load_default=lambda: "",
        metadata={"description": "omit where the building has no units"},
    )
    room = text(20, required=True)
    name = text(100, required=True)
    phone_last4 = fields.String(
        required=True,
        validate=[
            validate.Length(equal=4, error="手机后四位应为4位数字"),
            validate.Regexp(r"^[0-9]{4}$", error="手机后四位应为4位数字"),
        ],
    )
    relation = fields.String(load_default="owner", validate=validate.OneOf(RELATIONS))


class RejectArgs(ma.Schema):
    reason = text(500, required=True)


class ClaimFilter(ma.Schema):
    status = fields.String(validate=validate.OneOf(CLAIM_STATUSES))


# What `_address` gives, for the document.
ADDRESS = {
    "estate_id": {"type": "integer"},
    "estate": {"type": "string"},
    "building": {"type": "string"},
    "unit": {"type": "string"},
    "room": {"type": "string"},
}


def _address(claim):
    h = claim.household
    return {
        "estate_id": h.estate_id,
        "estate": h.estate.name,
        "building": h.building.name,
        "unit": h.unit,
        "room": h.room,
    }


STATUS_DESCRIPTION = (
    "pending, verified (a member of the household), rejected (`reason` says why), left (the "
    "resident left the household) or revoked (a roster re-import changed its owner; `reason` "
    "says so)"
)


class MyClaimSchema(ma.Schema):
    """A resident's own claim (their own typed name is not echoed back)."""

    id = fields.Integer()
    household_id = fields.Integer()
    status = code(CLAIM_STATUSES, metadata={"description": STATUS_DESCRIPTION})
    status_label = label(labels.CLAIM_STATUSES, "status")
    relation = code(RELATIONS)
    relation_label = label(labels.RELATIONS, "relation")
    reason = fields.String(allow_none=True)
    address = fields.Function(_address, metadata={"type": "object", "properties": ADDRESS})
    created_at = fields.DateTime()
    verified_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True, metadata={"description": "left or revoked at"})


class HomeHouseholdSchema(ma.Schema):
    """One of the resident's live claims as their home screen shows it (`participation.queries.
    HomeClaim`): the address masked, and no estate id while the claim waits for the committee."""

    claim_id = fields.Function(lambda row: row.claim.id, metadata={"type": "integer"})
    household_id = fields.Function(lambda row: row.claim.household_id, metadata={"type": "integer"})
    status = code(
        ("verified", "pending"),
        attribute="claim.status",
        metadata={"description": "verified (a member of the household) or pending"},
    )
    status_label = label(
        labels.CLAIM_STATUSES,
        "claim.status",
        metadata={"description": "the Chinese label of `status`"},
    )
    relation = code(RELATIONS, attribute="claim.relation")
    relation_label = label(
        labels.RELATIONS,
        "claim.relation",
        metadata={"description": "the Chinese label of `relation`"},
    )
    estate_id = fields.Function(
        lambda row: row.estate_id if row.claim.status == "verified" else None,
        allow_none=True,
        metadata={"type": "integer", "description": "null while the claim is pending"},
    )
    address = fields.Function(
        lambda row: f"{row.estate} {mask_address(row.building, row.unit, row.room)}",
        metadata={
            "type": "string",
            "description": "the estate, then the masked address: 甲小区 1栋1单元1**",
        },
    )


class ClaimSchema(ma.Schema):
    """A claim as its reviewer sees it: masked, with whether each detail matches the roster."""

    id = fields.Integer()
    household_id = fields.Integer()
    resident_id = fields.Integer()
    status = code(CLAIM_STATUSES, metadata={"description": STATUS_DESCRIPTION})
    status_label = label(labels.CLAIM_STATUSES, "status")
    relation = code(RELATIONS)
    relation_label = label(labels.RELATIONS, "relation")
    reason = fields.String(allow_none=True)
    address = fields.Function(_address, metadata={"type": "object", "properties": ADDRESS})
    claimed_name = fields.Function(lambda c: mask_name(c.claimed_name), metadata={"type": "string"})
    claimed_phone_last4 = fields.Function(
        lambda c: mask_phone_last4(c.claimed_phone_last4), metadata={"type": "string"}
    )
    name_matches = fields.Function(
        lambda c: c.claimed_name == c.household.owner_name, metadata={"type": "boolean"}
    )
    phone_matches = fields.Function(
        lambda c: c.claimed_phone_last4 == c.household.owner_phone_last4,
        metadata={"type": "boolean"},
    )
    created_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True, metadata={"description": "left or revoked at"})


# --- people -------------------------------------------------------------------------------


class WeChatLoginArgs(ma.Schema):
    code = text(128, required=True)
    nickname = text(100, allow_none=True)


class StaffLoginArgs(ma.Schema):
    username = text(64, required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class GrantArgs(ma.Schema):
    class Meta:
        description = (
            "`scope_id` is required for every role but `prefecture`, which has none: the county "
            "(`county`), community (`committee`) or project (`owner`) the role covers. An "
            "unknown scope is a 422 `unknown_scope`; one outside the caller's own grants a 403."
        )

    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    scope_id = id_field(allow_none=True, load_default=None)

    @ma.validates_schema
    def _scope_matches_role(self, data, **kwargs):
        if data["role"] == "prefecture" and data.get("scope_id") is not None:
            raise ma.ValidationError("市级主管部门的角色不设范围，请勿填写 scope_id", "scope_id")
        if data["role"] != "prefecture" and data.get("scope_id") is None:
            raise ma.ValidationError("该角色须指定范围 scope_id", "scope_id")


class StaffArgs(ma.Schema):
    class Meta:
        description = (
            "Each of `grants` follows GrantArgs' rules. Only the prefecture may create an "
            "account without `grants`; anyone else must give at least one within their own "
            "remit (422 `grant_required`)."
        )

    # `(?!\n)`: Python's `$` also matches before a final newline ("clerk-a\n" would pass).
    username = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{3,64}$(?!\n)")
    )
    password = fields.String(required=True, validate=validate.Length(min=8, max=256))
    display_name = text(100, allow_none=True)
    grants = fields.List(fields.Nested(GrantArgs), load_default=list)


class GrantSchema(ma.Schema):
    id = fields.Integer()
    role = code(ROLES)
    role_label = label(labels.ROLES, "role")
    scope_id = fields.Integer(allow_none=True)


class StaffSchema(ma.Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.Function(lambda s: mask_name(s.display_name))
    active = fields.Boolean()
    roles = fields.List(fields.Nested(GrantSchema), attribute="grants")


class ResidentSchema(ma.Schema):
    id = fields.Integer()
    nickname = fields.String(allow_none=True)
    households = fields.List(fields.Nested(MyClaimSchema), attribute="claims")


class WeChatLoginSchema(ma.Schema):
    token = fields.String()
    user = fields.Nested(ResidentSchema)
    consent_required = fields.Boolean(
        metadata={
            "description": "the resident has not accepted the privacy notice in force: show it "
            "(`GET /privacy`) and send `POST /me/privacy-consent`, whose token replaces this "
            "one; until then every other call is a 403 `consent_required`"
        }
    )
    privacy_version = fields.String(metadata={"description": "the privacy notice in force"})


class StaffLoginSchema(ma.Schema):
    token = fields.String()
    user = fields.Nested(StaffSchema)


class MeSchema(ma.Schema):
    kind = code(labels.USER_KINDS)
    kind_label = label(labels.USER_KINDS, "kind")
    id = fields.Integer()
    nickname = fields.String(allow_none=True)
    username = fields.String()
    households = fields.List(fields.Nested(MyClaimSchema))
    roles = fields.List(fields.Nested(GrantSchema))
