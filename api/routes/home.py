"""The resident's home screen (首页), opened on every launch of the mini-program: what each
domain holds of the caller, in one request and a fixed number of statements."""

import marshmallow as ma
from marshmallow import fields

from api import auth
from api.core import utcnow
from api.http import Blueprint
from feedback import queries as feedback_queries
from feedback.schemas.supervision import MySignupSchema
from feedback.schemas.tickets import HomeTicketSchema
from notices import queries as notice_queries
from participation import contributions as contribution_queries
from participation import queries as participation_queries
from participation.schemas.contributions import HomeContributionSchema
from participation.schemas.projects import EstateProjectSchema
from participation.schemas.registry import HomeHouseholdSchema
from voting.queries import consultations as consultation_queries
from voting.schemas import HomeConsultationSchema

blp = Blueprint("home", __name__, url_prefix="/api/v1", description="The resident's home screen")


class HomeEstateSchema(ma.Schema):
    """An estate where the caller is a verified member of a household, with its projects."""

    id = fields.Integer()
    name = fields.String()
    projects = fields.List(fields.Nested(EstateProjectSchema))


class HomeSchema(ma.Schema):
    class Meta:
        description = (
            "Only the caller's own: `households` their verified and pending claims (addresses "
            "masked); `estates` those of their verified households only (a pending claim shows "
            "nothing of its estate but the masked address); `consultations` the open ones of "
            "those estates' projects, the soonest to close first; `unread_notices` the notices "
            "`GET /notices?unread=1` lists; `supervision` their sign-ups but withdrawn ones, "
            "newest first; `tickets` the problems they reported that are not resolved, newest "
            "first; `contributions` the adopted contribution schemes (居民出资) their "
            "households have not answered or not paid in full, the earliest due first."
        )

    households = fields.List(fields.Nested(HomeHouseholdSchema))
    estates = fields.List(fields.Nested(HomeEstateSchema))
    consultations = fields.List(fields.Nested(HomeConsultationSchema))
    unread_notices = fields.Integer()
    supervision = fields.List(fields.Nested(MySignupSchema))
    tickets = fields.List(fields.Nested(HomeTicketSchema))
    contributions = fields.List(fields.Nested(HomeContributionSchema))


@blp.get("/me/home")
@auth.resident_required
@blp.response(200, HomeSchema)
@blp.errors(401, 403)
def home():
    """Everything the home screen shows, for the calling resident: their households, the
    projects of their estates with the next milestone, the consultations open to their
    household with their eligibility and whether it has voted, the unread notices, their
    supervisor sign-ups, their open tickets, and the contributions their households have yet to
    answer or pay. Residents only (staff: 403 `residents_only`).
    It writes nothing: what has come due (a scheduled notice, a consultation's opening) shows
    once the scheduler, or without one the next `GET /notices`, has done it."""
    resident_id = auth.current_resident().id
    now = utcnow()
    claims = participation_queries.home_claims(resident_id)
    estates: dict[int, dict] = {}
    for row in claims:
        if row.claim.status == "verified":
            estates.setdefault(row.estate_id, {"id": row.estate_id, "name": row.estate})
    projects = participation_queries.estates_projects(list(estates))
    for estate in estates.values():
        estate["projects"] = [p for p in projects if p.estate_id == estate["id"]]
    project_ids = sorted({p.project.id for p in projects})
    return {
        "households": claims,
        "estates": list(estates.values()),
        "consultations": consultation_queries.open_to_resident(resident_id, project_ids, now),
        "unread_notices": notice_queries.unread_count(resident_id, now),
        "supervision": feedback_queries.home_signups(resident_id),
        "tickets": feedback_queries.open_tickets(resident_id),
        # Only a verified household has contributions to answer: not asked without one.
        "contributions": contribution_queries.home_contributions(resident_id) if estates else [],
    }
