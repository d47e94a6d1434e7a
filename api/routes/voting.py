"""Consultations, ballots, turnout and tallies."""

from sqlalchemy import select

from api import auth
from api.core import Forbidden, NotFound, commit, db
from api.http import Blueprint, PageArgs
from api.routes.projects import load_project, visible_project
from participation import policy
from participation.models import Building, Household, Project, Resident
from voting import jobs, service
from voting.models import Ballot, BallotPick, Consultation, Tally
from voting.schemas import (
    BallotArgs,
    ConsultationArgs,
    ConsultationSchema,
    MyBallotSchema,
    PaperBallotArgs,
    PaperReceiptSchema,
    ReceiptSchema,
    TallySchema,
    TurnoutSchema,
    mask_address,
)

blp = Blueprint("voting", __name__, url_prefix="/api/v1", description="Consultations and ballots")


def _consultation(consultation_id: int) -> Consultation:
    return db.session.get(Consultation, consultation_id) or _not_found()


def _not_found():
    raise NotFound("找不到该表决", code="consultation_not_found")


def visible_consultation(consultation_id: int) -> tuple[Consultation, Project]:
    consultation = _consultation(consultation_id)
    return consultation, visible_project(consultation.project_id)


def managed_consultation(consultation_id: int) -> tuple[Consultation, Project]:
    consultation = _consultation(consultation_id)
    project = load_project(consultation.project_id)
    policy.require_runs_consultations(auth.current_staff(), project)
    return consultation, project


def _dump(consultation: Consultation) -> Consultation:
    caller = auth.current_caller()
    consultation.eligibility = (
        service.eligibility(consultation, caller.id) if isinstance(caller, Resident) else None
    )
    return consultation


@blp.post("/projects/<int:project_id>/consultations")
@auth.staff_required
@blp.arguments(ConsultationArgs)
@blp.response(201, ConsultationSchema)
@blp.errors(401, 403, 404, 422)
def create_consultation(args, project_id):
    """Prepare a consultation (a draft; it opens now with /open, or at `opens_at`)."""
    project = load_project(project_id)
    staff = auth.current_staff()
    policy.require_runs_consultations(staff, project)
    consultation = service.create_consultation(project, staff, args)
    commit()
    return _dump(consultation)


@blp.get("/projects/<int:project_id>/consultations")
@auth.login_required
@blp.response(200, ConsultationSchema(many=True))
@blp.errors(401, 403, 404)
def list_consultations(project_id):
    """The project's consultations, newest first."""
    project = visible_project(project_id)
    consultations = db.session.scalars(
        select(Consultation)
        .where(Consultation.project_id == project.id)
        .order_by(Consultation.id.desc())
    ).all()
    return [_dump(c) for c in consultations]


@blp.get("/consultations/<int:consultation_id>")
@auth.login_required
@blp.response(200, ConsultationSchema)
@blp.errors(401, 403, 404)
def get_consultation(consultation_id):
    """Question, options, times, status, and whether the calling resident may vote."""
    consultation, _ = visible_consultation(consultation_id)
    jobs.catch_up(consultation)
    return _dump(consultation)


@blp.post("/consultations/<int:consultation_id>/open")
@auth.staff_required
@blp.response(200, ConsultationSchema)
@blp.errors(401, 403, 404, 409)
def open_consultation(consultation_id):
    """Open now: the electorate (households, floor areas, verified members) is frozen."""
    managed_consultation(consultation_id)
    consultation = service.lock(consultation_id, shared=False)
    service.open_consultation(consultation)
    jobs.after_open(consultation)
    commit()
    return _dump(consultation)


@blp.post("/consultations/<int:consultation_id>/close")
@auth.staff_required
@blp.response(200, ConsultationSchema)
@blp.errors(401, 403, 404, 409)
def close_consultation(consultation_id):
    """Close now; the final tally follows."""
    managed_consultation(consultation_id)
    consultation = service.lock(consultation_id, shared=False)
    service.close_consultation(consultation)
    jobs.request_tally(consultation.id)
    commit()
    return _dump(consultation)


@blp.put("/consultations/<int:consultation_id>/ballot")
@auth.resident_token_required
@blp.arguments(BallotArgs)
@blp.response(200, ReceiptSchema)
@blp.errors(401, 403, 404, 409, 422)
def put_ballot(args, consultation_id):
    """Cast or change the household's ballot; the last one before the close counts."""
    receipt = service.cast_ballot(consultation_id, auth.current_resident_id(), args)
    jobs.request_tally(consultation_id)
    commit()
    return receipt


@blp.get("/consultations/<int:consultation_id>/ballot")
@auth.resident_required
@blp.response(200, MyBallotSchema)
@blp.errors(401, 403, 404)
def get_ballot(consultation_id):
    """The caller's household ballot, or 404 if the household has not voted."""
    consultation = _consultation(consultation_id)
    allowed = service.eligibility(consultation, auth.current_resident().id)
    if not allowed["eligible"]:
        raise service.NotEligible(
            service.NOT_ELIGIBLE_MESSAGES[allowed["reason"]], details={"reason": allowed["reason"]}
        )
    for household_id in allowed["households"]:
        ballot = service.household_ballot(consultation, household_id)
        if ballot is not None:
            ballot.items = db.session.scalars(
                select(BallotPick.item)
                .where(
                    BallotPick.consultation_id == consultation.id,
                    BallotPick.household_id == household_id,
                )
                .order_by(BallotPick.item)
            ).all()
            return ballot
    raise NotFound("您的住户尚未投票", code="ballot_not_found")


@blp.post("/consultations/<int:consultation_id>/paper-ballots")
@auth.staff_required
@blp.arguments(PaperBallotArgs)
@blp.response(201, PaperReceiptSchema)
@blp.errors(401, 403, 404, 409, 422)
def paper_ballot(args, consultation_id):
    """Record a paper or assisted ballot with its evidence (the committee, its county, the
    prefecture); it replaces the household's earlier ballot like any other."""
    # A committee records the ballots of its own community's households, also in a bundled
    # project whose consultation it does not run.
    consultation = _consultation(consultation_id)
    project = load_project(consultation.project_id)
    staff = auth.current_staff()
    policy.require_sees_project(staff, project)
    if not (policy.is_prefecture(staff) or policy.covers_county(staff, project.county_id)):
        committees = policy.scope_ids(staff, "committee")
        if not committees:
            raise Forbidden("纸质选票由社区居委会录入", code="out_of_scope")
        service.require_paper_scope(committees, args["household_id"])
    receipt = service.record_paper_ballot(consultation, staff, args)
    jobs.request_tally(consultation.id)
    commit()
    return receipt


@blp.get("/consultations/<int:consultation_id>/turnout")
@auth.login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, TurnoutSchema)
@blp.errors(401, 403, 404)
def turnout(args, consultation_id):
    """Households that voted, masked, with their receipt codes (never their choices)."""
    consultation, _ = visible_consultation(consultation_id)
    statement = (
        select(
            Ballot.receipt,
            Ballot.channel,
            Ballot.updated_at,
            Building.name,
            Household.unit,
            Household.room,
        )
        .join(Household, Household.id == Ballot.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Ballot.consultation_id == consultation.id)
        .order_by(Ballot.receipt)
    )
    total = db.session.scalar(
        select(db.func.count()).select_from(statement.order_by(None).subquery())
    )
    page, per_page = args["page"], args["per_page"]
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return {
        "consultation_id": consultation.id,
        "eligible": consultation.eligible_households,
        "voted": total,
        "items": [
            {
                "receipt": r.receipt,
                "household": mask_address(r.name, r.unit, r.room),
                "channel": r.channel,
                "voted_at": r.updated_at,
            }
            for r in rows
        ],
        "page": page,
        "per_page": per_page,
        "total": total,
    }


@blp.get("/consultations/<int:consultation_id>/tally")
@auth.login_required
@blp.response(200, TallySchema)
@blp.errors(401, 403, 404)
def get_tally(consultation_id):
    """The latest count: staff in scope any time; residents once the consultation is closed."""
    consultation, _ = visible_consultation(consultation_id)
    if isinstance(auth.current_caller(), Resident) and consultation.status != "closed":
        raise Forbidden("表决结束后公布结果", code="results_not_published")
    tally = db.session.get(Tally, consultation.id)
    if tally is None:
        raise NotFound("表决尚未开始，没有计票结果", code="tally_not_found")
    return tally
