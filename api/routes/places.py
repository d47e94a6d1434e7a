"""Counties, communities, estates and each estate's household roster."""

from api import auth
from api.core import NotFound, commit, db, get_or_404
from api.http import Blueprint, PageArgs, allow_upload, page_schema, paginate
from participation import policy, queries
from participation.models import Building, Community, County, Estate, Household, Staff
from participation.schemas.registry import (
    BuildingSchema,
    CommunityArgs,
    CommunityFilter,
    CommunitySchema,
    CountyArgs,
    CountySchema,
    EstateArgs,
    EstateFilter,
    EstateSchema,
    HouseholdEditSchema,
    HouseholdFilter,
    HouseholdPatchArgs,
    HouseholdSchema,
    ImportArgs,
    ImportResultSchema,
    RoomSchema,
    UnitFilter,
    UnitSchema,
)
from participation.service import registry as service
from participation.service import roster

blp = Blueprint("places", __name__, url_prefix="/api/v1", description="Places and the roster")


class CommunityQuery(PageArgs, CommunityFilter):
    pass


class EstateQuery(PageArgs, EstateFilter):
    pass


class HouseholdQuery(PageArgs, HouseholdFilter):
    pass


def _county(county_id):
    return get_or_404(County, county_id, "county_not_found", "找不到该县市")


def _community(community_id):
    return get_or_404(Community, community_id, "community_not_found", "找不到该社区")


def _estate(estate_id):
    return get_or_404(Estate, estate_id, "estate_not_found", "找不到该小区")


@blp.get("/counties")
@auth.login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(CountySchema, "CountyPage"))
@blp.errors(401)
def list_counties(args):
    """Every county (place names are public to any signed-in user)."""
    return paginate(queries.counties(), args)


@blp.post("/counties")
@auth.staff_required
@blp.arguments(CountyArgs)
@blp.response(201, CountySchema)
@blp.errors(401, 403, 409)
def create_county(args):
    """Add a county (prefecture only)."""
    policy.require_prefecture(auth.current_staff())
    county = service.create_county(args["name"])
    commit()
    return county


@blp.get("/communities")
@auth.login_required
@blp.arguments(CommunityQuery, location="query")
@blp.response(200, page_schema(CommunitySchema, "CommunityPage"))
@blp.errors(401)
def list_communities(args):
    """Communities, optionally of one county, or only those asked for by id (`?id=3&id=7`,
    at most 100: the console names a clerk's communities so)."""
    statement = queries.communities(args.get("county_id"))
    if args.get("id"):
        statement = statement.where(Community.id.in_(sorted(set(args["id"]))))
    return paginate(statement, args)


@blp.post("/communities")
@auth.staff_required
@blp.arguments(CommunityArgs)
@blp.response(201, CommunitySchema)
@blp.errors(401, 403, 409, 422)
def create_community(args):
    """Add a community to a county (prefecture, or that county's officers)."""
    county = _county(args["county_id"])
    policy.require_county(auth.current_staff(), county)
    community = service.create_community(county, args["name"])
    commit()
    return community


@blp.get("/estates")
@auth.login_required
@blp.arguments(EstateQuery, location="query")
@blp.response(200, page_schema(EstateSchema, "EstatePage"))
@blp.errors(401)
def list_estates(args):
    """Estates, optionally of one community: residents pick theirs from here."""
    return paginate(queries.estates(args.get("community_id")), args)


@blp.post("/estates")
@auth.staff_required
@blp.arguments(EstateArgs)
@blp.response(201, EstateSchema)
@blp.errors(401, 403, 409, 422)
def create_estate(args):
    """Add an estate to a community (its committee, its county, or the prefecture)."""
    community = _community(args["community_id"])
    policy.require_community(auth.current_staff(), community)
    estate = service.create_estate(community, args["name"], args.get("address"))
    commit()
    return estate


@blp.get("/estates/<int:estate_id>/households")
@auth.staff_required
@blp.arguments(HouseholdQuery, location="query")
@blp.response(200, page_schema(HouseholdSchema, "HouseholdPage"))
@blp.errors(401, 403, 404, 422)
def list_households(args, estate_id):
    """The estate's roster, masked (the committee, its county, or the prefecture); of one
    building (`?building_id=`, another estate's gives none) and by room (`?room=`) when asked."""
    estate = _estate(estate_id)
    policy.require_community(auth.current_staff(), estate.community)
    return paginate(queries.roster(estate, args.get("building_id"), args.get("room")), args)


@blp.patch("/households/<int:household_id>")
@auth.staff_required
@blp.arguments(HouseholdPatchArgs)
@blp.response(200, HouseholdEditSchema)
@blp.errors(401, 403, 404, 409, 422)
def edit_household(args, household_id):
    """Correct one roster row: building, unit, room (within its estate), the owner's name and
    phone digits, the floor area; the committee of the household's community, its county, or
    the prefecture (anyone else, the project owner included: 404 `household_not_found`, as for
    a missing id). The reply is the row masked, as the roster shows it.

    - An address another household of the estate holds: 409 `household_address_taken`.
    - A new owner name or phone digits need `owner_change` (else 422 `owner_change_required`):
      `correction` (a typo in the roster) keeps the household's verified members, who were
      checked against the person and not the typo; `new_owner` (the dwelling changed hands)
      revokes the verified owner and family claims that do not name the new owner, as a
      roster re-import does: each resident is told why and leaves the consultations still
      open (`revoked` counts them). A tenant's claim stays either way.
    - A consultation already open keeps what its electorate froze at the opening (the floor
      area, the owner key of the head count, the members): the edit counts from the next one.
      Its lists of households (turnout, non-voters, the turnout workbook) show the corrected
      address, which names the same dwelling.
    - A building named anew is added to the estate; the one the household left stays (notices
      may target it), even when empty.
    """
    # Locked: a second clerk's edit, or a resident's claim matching the owner, waits for this
    # one (a new owner's revocation would miss a claim verified against the old owner meanwhile).
    household = db.session.get(
        Household, household_id, with_for_update=True, populate_existing=True
    )
    staff = auth.current_staff()
    if household is None or not policy.covers_community(staff, household.estate.community):
        raise NotFound("找不到该住户", code="household_not_found")
    revoked = roster.edit_household(household, args)
    commit()
    household.revoked = revoked
    return household


def _pickable_estate(estate: Estate) -> Estate:
    """Any resident may pick from an estate's roster addresses (they need them to file their
    claim, before they are verified); staff within the estate's community's scope."""
    caller = auth.current_caller()
    if isinstance(caller, Staff):
        policy.require_staff_sees_estate(caller, estate)
    return estate


def _pickable_building(building_id) -> Building:
    building = get_or_404(Building, building_id, "building_not_found", "找不到该楼栋")
    _pickable_estate(_estate(building.estate_id))
    return building


@blp.get("/estates/<int:estate_id>/buildings")
@auth.login_required
@blp.response(200, BuildingSchema(many=True))
@blp.errors(401, 403, 404)
def list_buildings(estate_id):
    """The estate's buildings in natural order (2栋 before 10栋), for the claim's pick list;
    any signed-in resident, or staff of the estate's community, its county, the prefecture."""
    return queries.estate_buildings(_pickable_estate(_estate(estate_id)))


@blp.get("/buildings/<int:building_id>/units")
@auth.login_required
@blp.response(200, UnitSchema(many=True))
@blp.errors(401, 403, 404)
def list_units(building_id):
    """The building's units in natural order; "" where the building has none."""
    units = queries.building_units(_pickable_building(building_id))
    return [{"unit": unit} for unit in units]


@blp.get("/buildings/<int:building_id>/rooms")
@auth.login_required
@blp.arguments(UnitFilter, location="query")
@blp.response(200, RoomSchema(many=True))
@blp.errors(401, 403, 404, 422)
def list_rooms(args, building_id):
    """The rooms of one unit (`?unit=`, omitted where the building has no units) in natural
    order: each household's id and room, never its owner's name, phone digits or area."""
    return queries.unit_rooms(_pickable_building(building_id), args["unit"])


@blp.post("/estates/<int:estate_id>/households:import")
@allow_upload
@auth.staff_required
@blp.arguments(ImportArgs, location="files")
@blp.response(200, ImportResultSchema)
@blp.errors(401, 403, 404, 413, 422)
def import_households(files, estate_id):
    """Import the roster from an xlsx or csv upload (field `file`).

    With any bad row nothing is imported and the 422 reply lists every bad row and why:
    `details.bad_rows` (each row's reasons) and `details.bad_cells` (one fault a line: row,
    column, reason).
    """
    estate = _estate(estate_id)
    policy.require_community(auth.current_staff(), estate.community)
    upload = files["file"]
    data = upload.read()
    result = roster.import_roster(estate, data, upload.filename or "")
    commit()
    return result
