"""Consultations, ballots, turnout and tallies."""

from api import auth
from api.core import Forbidden, NotFound, commit, db
from api.http import Blueprint, PageArgs, page_schema, paginate
from api.pool import no_pre_ping
from api.routes.projects import hidden_as, load_project, visible_project, visible_reading
from participation.models import Project, Resident
from voting import jobs, policy
from voting.models import Consultation, Tally
from voting.queries import ballots as ballot_queries
from voting.queries import consultations as consultation_queries
from voting.queries import turnout as turnout_queries
from voting.queries import visibility
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
)
from voting.schemas.paper import (
    GridFilter,
    NonVoterFilter,
    NonVotersSchema,
    TurnoutFilter,
    TurnoutGridSchema,
)
from voting.service import ballots, consultations, paper
from voting.service.ballots import ConsultationNotFound, NotOpenYet

blp = Blueprint("voting", __name__, url_prefix="/api/v1", description="Consultations and ballots")


def _consultation(consultation_id: int) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise ConsultationNotFound()
    return consultation


def visible_consultation(consultation_id: int) -> tuple[Consultation, Project]:
    """The consultation, if the caller sees its project; to anyone else it does not exist.
    The caller, the consultation, its project and whether the caller sees it: one statement."""
    with hidden_as(ConsultationNotFound):
        reading = visible_reading(via=(Consultation.id, consultation_id))
    return reading.via, reading.project


def managed_consultation(consultation_id: int) -> tuple[Consultation, Project]:
    """The consultation, if the caller opens and closes it (its kind decides who does)."""
    consultation = _consultation(consultation_id)
    project = load_project(consultation.project_id)
    with hidden_as(ConsultationNotFound):
        policy.require_runs_consultation(auth.current_staff(), project, consultation.kind)
    return consultation, project


def _dump(consultation: Consultation) -> Consultation:
    caller = auth.current_caller()
    consultation.eligibility = (
        ballot_queries.eligibility(consultation, caller.id)
        if isinstance(caller, Resident)
        else None
    )
    return consultation


@blp.post("/projects/<int:project_id>/consultations")
@auth.staff_required
@blp.arguments(ConsultationArgs)
@blp.response(201, ConsultationSchema)
@blp.errors(401, 403, 404, 409, 422)
def create_consultation(args, project_id):
    """Prepare a consultation (a draft; it opens now with /open, or at `opens_at`). The owner
    may prepare any kind; a plan satisfaction consultation or an owners' decision is opened and
    closed by the committee of the project's communities, the county or the prefecture, so only
    they may give such a draft an `opens_at` (403 `organised_by_community` for the owner)."""
    project = load_project(project_id)
    staff = auth.current_staff()
    policy.require_drafts_consultations(staff, project)
    if args.get("opens_at") is not None:
        # A scheduled opening opens the vote by itself (the scheduler, or any read that catches
        # up): only those who may open it may schedule it.
        policy.require_runs_consultation(staff, project, args["kind"])
    consultation = consultations.create_consultation(project, staff, args)
    commit()
    return _dump(consultation)


@blp.get("/projects/<int:project_id>/consultations")
@auth.login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(ConsultationSchema, "ConsultationPage"))
@blp.errors(401, 403, 404, 422)
def list_consultations(args, project_id):
    """The project's consultations, newest first, a page at a time (each with the calling
    resident's eligibility)."""
    project = visible_project(project_id)
    page = paginate(consultation_queries.consultations_of(project.id), args)
    page["items"] = [_dump(c) for c in page["items"]]
    return page


@blp.get("/consultations/<int:consultation_id>")
@auth.token_required
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
    """Open now: the electorate (households, floor areas, verified members) is frozen. A plan
    satisfaction consultation whose `closes_at` is sooner than the minimum voting period
    (`GATE_MIN_OPEN_DAYS`) is given that minimum: the promised period wins over a stale date.
    Plan satisfaction consultations and owners' decisions are opened by the committee, the
    county or the prefecture, not the project owner (403 `organised_by_community`)."""
    managed_consultation(consultation_id)
    consultation = consultations.lock(consultation_id, shared=False)
    consultations.open_consultation(consultation)
    jobs.after_open(consultation)
    commit()
    return _dump(consultation)


@blp.post("/consultations/<int:consultation_id>/close")
@auth.staff_required
@blp.response(200, ConsultationSchema)
@blp.errors(401, 403, 404, 409)
def close_consultation(consultation_id):
    """Close now; the final tally follows. A plan satisfaction consultation closes no earlier
    than `GATE_MIN_OPEN_DAYS` after its opening unless every eligible household has voted (409
    `too_early_to_close`, with `earliest_close_at`)."""
    managed_consultation(consultation_id)
    consultation = consultations.lock(consultation_id, shared=False)
    consultations.close_consultation(consultation)
    jobs.request_tally(consultation.id)
    commit()
    return _dump(consultation)


# Built once: given a schema class, webargs would build an instance on every request.
_BALLOT_ARGS = BallotArgs()


@blp.put("/consultations/<int:consultation_id>/ballot")
@auth.resident_token_required
@blp.arguments(_BALLOT_ARGS)
@blp.response(200, ReceiptSchema)
@blp.errors(401, 403, 404, 409, 422)
def put_ballot(args, consultation_id):
    """Cast or change the household's ballot; the last one before the close counts."""
    # The hot path (issue 11): no pre-ping (the ballot retries its first statement itself); on
    # PostgreSQL two statements, each its own transaction, so the commit sends nothing; then the
    # tally request, after the commit (`tally_after_ballot`).
    with no_pre_ping():
        receipt = ballots.cast_ballot(consultation_id, auth.current_resident_id(), args)
        commit()
    jobs.tally_after_ballot(consultation_id)
    return receipt


@blp.get("/consultations/<int:consultation_id>/ballot")
@auth.resident_required
@blp.response(200, MyBallotSchema)
@blp.errors(401, 403, 404)
def get_ballot(consultation_id):
    """The caller's household ballot, or 404 if the household has not voted."""
    consultation = _consultation(consultation_id)
    households = policy.require_eligible(consultation, auth.current_resident().id)
    ballot = ballot_queries.first_ballot(consultation, households)
    if ballot is None:
        raise NotFound("您的住户尚未投票", code="ballot_not_found")
    return ballot


@blp.post("/consultations/<int:consultation_id>/paper-ballots")
@auth.staff_required
@blp.arguments(PaperBallotArgs)
@blp.response(201, PaperReceiptSchema)
@blp.errors(401, 403, 404, 409, 422)
def paper_ballot(args, consultation_id):
    """Record a paper or assisted ballot with its evidence, the clerk's own upload of the form
    (the committee, its county, the prefecture); it replaces the household's earlier ballot like
    any other, and the household's members are told when it replaces their WeChat ballot."""
    consultation = _consultation(consultation_id)
    project = load_project(consultation.project_id)
    staff = auth.current_staff()
    with hidden_as(ConsultationNotFound):
        policy.require_records_paper_ballot(staff, project, args["household_id"])
    receipt = paper.record_paper_ballot(consultation, staff, args)
    jobs.request_tally(consultation.id)
    commit()
    return receipt


class TurnoutQuery(PageArgs, TurnoutFilter):
    pass


@blp.get("/consultations/<int:consultation_id>/turnout")
@auth.login_required
@blp.arguments(TurnoutQuery, location="query")
@blp.response(200, TurnoutSchema)
@blp.errors(401, 403, 404, 422)
def turnout(args, consultation_id):
    """Households that voted, masked, with their receipt codes, the channel (WeChat, paper,
    assisted), whether a delegate voted and the day (never a time, never a choice). With
    `?receipt=`, only that receipt's row (none when no ballot of this consultation has it):
    a household checks that its ballot was counted."""
    consultation, _ = visible_consultation(consultation_id)
    return turnout_queries.turnout_page(
        consultation, args["page"], args["per_page"], args.get("receipt")
    )


@blp.get("/consultations/<int:consultation_id>/tally")
@auth.login_required
@blp.response(200, TallySchema)
@blp.errors(401, 403, 404)
def get_tally(consultation_id):
    """The latest count: residents once the consultation is closed; staff in scope any time,
    but while it is open the counts per choice and the rates only once RESULTS_MIN_BALLOTS
    households voted (else participation only, `results_hidden: too_few_ballots`)."""
    consultation, _ = visible_consultation(consultation_id)
    caller = auth.current_caller()
    if isinstance(caller, Resident) and consultation.status != "closed":
        raise Forbidden("表决结束后公布结果", code="results_not_published")
    tally = db.session.get(Tally, consultation.id)
    if tally is None:
        raise NotFound("表决尚未开始，没有计票结果", code="tally_not_found")
    return visibility.redact_tally(tally, caller, consultation, TallySchema().fields)


class NonVoterQuery(PageArgs, NonVoterFilter):
    pass


@blp.get("/consultations/<int:consultation_id>/non-voters")
@auth.staff_required
@blp.arguments(NonVoterQuery, location="query")
@blp.response(200, NonVotersSchema)
@blp.errors(401, 403, 404, 409, 422)
def non_voters(args, consultation_id):
    """Whom to visit: the frozen electorate's households that have not voted, by building,
    unit and room (owner's name masked), with counts per building; for the committee of the
    households' community (its part of a bundled project), the county, the prefecture; not the
    project owner (403 `out_of_scope`). 409 `consultation_not_open` before the opening."""
    consultation = _consultation(consultation_id)
    project = load_project(consultation.project_id)
    with hidden_as(ConsultationNotFound):
        communities = policy.canvassed_communities(auth.current_staff(), project)
    if consultation.status == "draft":
        raise NotOpenYet()
    return turnout_queries.non_voters_page(
        consultation, communities, args.get("building_id"), args["page"], args["per_page"]
    )


@blp.get("/consultations/<int:consultation_id>/turnout/grid")
@auth.staff_required
@blp.arguments(GridFilter, location="query")
@blp.response(200, TurnoutGridSchema)
@blp.errors(401, 403, 404, 409, 422)
def turnout_grid(args, consultation_id):
    """One building as a floor grid for the committee's door-to-door work: its households by
    unit and floor (from the room number), each door with whether its household voted and how
    (WeChat, paper, assisted), room numbers only (no name, no choice, no receipt). Whom it
    shows, as the non-voters list: the committee of the households' community (its part of a
    bundled project), the county, the prefecture; not the project owner (403 `out_of_scope`).
    409 `consultation_not_open` before the opening; 422 `building_not_in_list`."""
    consultation = _consultation(consultation_id)
    project = load_project(consultation.project_id)
    with hidden_as(ConsultationNotFound):
        communities = policy.canvassed_communities(auth.current_staff(), project)
    if consultation.status == "draft":
        raise NotOpenYet()
    return turnout_queries.turnout_grid(consultation, communities, args.get("building_id"))
