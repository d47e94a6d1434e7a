"""Counties, communities, estates and each estate's household roster."""

from api import auth
from api.core import commit, get_or_404
from api.http import Blueprint, PageArgs, allow_upload, page_schema, paginate
from participation import policy, queries
from participation.models import Community, County, Estate
from participation.schemas.registry import (
    CommunityArgs,
    CommunityFilter,
    CommunitySchema,
    CountyArgs,
    CountySchema,
    EstateArgs,
    EstateFilter,
    EstateSchema,
    HouseholdSchema,
    ImportArgs,
    ImportResultSchema,
)
from participation.service import registry as service
from participation.service import roster

blp = Blueprint("places", __name__, url_prefix="/api/v1", description="Places and the roster")


class CommunityQuery(PageArgs, CommunityFilter):
    pass


class EstateQuery(PageArgs, EstateFilter):
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
    """Communities, optionally of one county."""
    return paginate(queries.communities(args.get("county_id")), args)


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
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(HouseholdSchema, "HouseholdPage"))
@blp.errors(401, 403, 404)
def list_households(args, estate_id):
    """The estate's roster, masked (the committee, its county, or the prefecture)."""
    estate = _estate(estate_id)
    policy.require_community(auth.current_staff(), estate.community)
    return paginate(queries.roster(estate), args)


@blp.post("/estates/<int:estate_id>/households:import")
@allow_upload
@auth.staff_required
@blp.arguments(ImportArgs, location="files")
@blp.response(200, ImportResultSchema)
@blp.errors(401, 403, 404, 413, 422)
def import_households(files, estate_id):
    """Import the roster from an xlsx or csv upload (field `file`).

    With any bad row nothing is imported and the reply lists every bad row and why.
    """
    estate = _estate(estate_id)
    policy.require_community(auth.current_staff(), estate.community)
    upload = files["file"]
    data = upload.read()
    result = roster.import_roster(estate, data, upload.filename or "")
    commit()
    return result
