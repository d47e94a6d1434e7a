"""Erasing residents who voted keeps every count exact (issue 12: the household's ballots belong
to the household). A world with a closed and an open consultation of each kind, ballots cast
online and on paper; the residents who voted online erase themselves (`DELETE /me`): every
ballot, tally row, gate reply, count reply and turnout receipt is as it was, and stays so when
every tally is recomputed from the ballots. Their tokens can no longer vote anywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.core import db
from participation.models import Plan
from tests.support.database import every_row
from tests.support.voting_helpers import backdate_opening, evidence_upload, run_jobs
from tests.support.voting_world import (
    assert_error_shape,
    build_world,
    close,
    create_consultation,
    open_,
    put_ballot,
)
from voting.models import Consultation, Tally
from voting.service.tally import recompute

C = "/api/v1/consultations"
OPTIONS = ["parking", "elevator", "greening"]


def _other_plan(app, w) -> int:
    with app.app_context():
        plan_id = db.session.scalar(select(Plan.id).where(Plan.project_id == w.other_project_id))
        db.session.remove()
        return plan_id


def _on_other_project(client, w, plan_id: int) -> int:
    """A plan satisfaction consultation of the estate's other project (one gate per plan)."""
    reply = client.post(
        f"/api/v1/projects/{w.other_project_id}/consultations",
        json={"kind": "plan_satisfaction", "plan_id": plan_id},
        headers=w.headers["clerk"],
    )
    assert reply.status_code == 201, reply.json
    return reply.json["id"]


def _vote(app, client, w, cid: int, kind: str, ballots: dict, project_id: int) -> None:
    """`ballots`: household index → answer, online by its member; index 5 votes on paper."""
    for i, answer in ballots.items():
        body = {"items": answer} if kind == "needs_survey" else {"choice": answer}
        if i == 5:
            paper = client.post(
                f"{C}/{cid}/paper-ballots",
                json={
                    "household_id": w.scene.household_ids[i],
                    **body,
                    "evidence_upload_id": evidence_upload(
                        app, project_id, staff_id=w.callers["clerk"].id
                    ),
                },
                headers=w.headers["clerk"],
            )
            assert paper.status_code == 201, paper.json
        else:
            reply = put_ballot(client, w.members[i], cid, **body)
            assert reply.status_code == 200, reply.json


SATISFACTION = {0: "satisfied", 1: "unsatisfied", 2: "satisfied", 3: "abstain", 5: "satisfied"}
NEEDS = {0: ["parking"], 1: ["parking", "elevator"], 2: ["greening"], 5: ["elevator"]}
DECISION = {0: "agree", 1: "agree", 2: "disagree", 3: "agree", 5: "abstain"}


@pytest.fixture
def counted(app, client, make):
    """The world (households 0–5, one verified member each) and its consultations by name."""
    w = build_world(app, make, households=6)
    other_plan = _other_plan(app, w)
    made = {
        "satisfaction_closed": create_consultation(client, w),
        "satisfaction_open": _on_other_project(client, w, other_plan),
        "needs_closed": create_consultation(
            client, w, kind="needs_survey", plan_id=None, options=OPTIONS
        ),
        "needs_open": create_consultation(
            client, w, kind="needs_survey", plan_id=None, options=OPTIONS
        ),
        "decision_closed": create_consultation(
            client, w, kind="owners_decision", matter="use_maintenance_fund", plan_id=None
        ),
        "decision_open": create_consultation(
            client, w, kind="owners_decision", matter="rebuild", plan_id=None
        ),
    }
    for name, cid in made.items():
        open_(client, w, cid)
        kind = name.split("_")[0]
        answers = {"satisfaction": SATISFACTION, "needs": NEEDS, "decision": DECISION}[kind]
        project_id = w.other_project_id if name == "satisfaction_open" else w.project_id
        kind = {"satisfaction": "plan_satisfaction", "needs": "needs_survey"}.get(
            kind, "owners_decision"
        )
        _vote(app, client, w, cid, kind, answers, project_id)
        if name.endswith("closed"):
            backdate_opening(app, cid)
            close(client, w, cid)
    run_jobs(app)
    return w, made


def _recompute_all(app) -> None:
    with app.app_context():
        for cid in db.session.scalars(select(Consultation.id).order_by(Consultation.id)).all():
            recompute(cid)
        db.session.commit()
        db.session.remove()


def _tallies(app, *, with_times: bool) -> dict:
    skip = set() if with_times else {"computed_at", "runs"}
    with app.app_context():
        rows = {
            t.consultation_id: {
                c.name: getattr(t, c.name) for c in Tally.__table__.columns if c.name not in skip
            }
            for t in db.session.scalars(select(Tally))
        }
        db.session.remove()
        return rows


def _without(reply: dict, *keys) -> dict:
    return {k: v for k, v in reply.items() if k not in keys}


def _replies(client, w, made, *, with_times: bool) -> dict:
    """What staff and residents read of the counts: the gate of both projects, each count, the
    full turnout lists (the receipts) of every consultation."""
    clerk = w.headers["clerk"]
    times = () if with_times else ("computed_at",)
    seen = {}
    for project_id in (w.project_id, w.other_project_id):
        reply = client.get(f"/api/v1/projects/{project_id}/gate", headers=clerk)
        assert reply.status_code == 200, reply.json
        seen[f"gate {project_id}"] = _without(reply.json, *times)
    for name, cid in made.items():
        tally = client.get(f"{C}/{cid}/tally", headers=clerk)
        assert tally.status_code == 200, tally.json
        seen[f"tally {name}"] = _without(tally.json, *times)
        turnout = client.get(f"{C}/{cid}/turnout", query_string={"per_page": 100}, headers=clerk)
        assert turnout.status_code == 200, turnout.json
        seen[f"turnout {name}"] = turnout.json
    return seen


VOTING_TABLES = (
    "ballots",
    "ballot_changes",
    "ballot_picks",
    "electorate_entries",
    "consultations",
    "tallies",
    "projects",
)


def test_erasing_the_residents_who_voted_changes_no_count(app, client, counted):
    w, made = counted
    _recompute_all(app)
    tallies = _tallies(app, with_times=True)
    replies = _replies(client, w, made, with_times=True)
    rows = every_row(app)
    receipts = {name: {i["receipt"] for i in replies[f"turnout {name}"]["items"]} for name in made}
    assert all(len(r) == 5 if "needs" not in name else len(r) == 4 for name, r in receipts.items())
    assert tallies[made["satisfaction_closed"]]["final"] is True
    assert tallies[made["satisfaction_open"]]["counted"] == 5

    voters = w.members[:4]  # households 0–3 voted online (5 on paper; 4 never voted)
    for headers in voters:
        assert client.delete("/api/v1/me", headers=headers).status_code == 204

    # The erasure itself touched nothing that counts, to the microsecond.
    after = every_row(app)
    for table in VOTING_TABLES:
        assert after[table] == rows[table], f"erasing residents changed {table}"
    assert _tallies(app, with_times=True) == tallies
    assert _replies(client, w, made, with_times=True) == replies

    # And the ballots still count the same when every tally is recomputed from them.
    _recompute_all(app)
    assert _tallies(app, with_times=False) == {
        cid: _without(row, "computed_at", "runs") for cid, row in tallies.items()
    }
    assert _replies(client, w, made, with_times=False) == {
        key: (_without(value, "computed_at") if not key.startswith("turnout") else value)
        for key, value in replies.items()
    }
    for table in ("ballots", "ballot_changes", "ballot_picks", "electorate_entries"):
        assert every_row(app)[table] == rows[table]


def test_an_erased_voter_cannot_vote_again_but_the_others_still_can(app, client, counted):
    _erased_voter_is_refused(app, client, *counted)


@pytest.mark.services
def test_an_erased_voter_is_refused_on_the_ballots_own_transactions(app, client, counted):
    """With real commits on PostgreSQL the ballot runs statement by statement, outside any
    transaction (`voting.service.ballots._on_its_own`): the refusal still reads the erasure."""
    _erased_voter_is_refused(app, client, *counted)


def _erased_voter_is_refused(app, client, w, made) -> None:
    erased, kept = w.members[0], w.members[4]
    assert client.delete("/api/v1/me", headers=erased).status_code == 204
    before = every_row(app)
    for name in ("satisfaction_open", "needs_open", "decision_open"):
        body = {"items": ["parking"]} if name.startswith("needs") else {"choice": "abstain"}
        assert_error_shape(put_ballot(client, erased, made[name], **body), 401, "token_invalid")
        assert_error_shape(
            client.get(f"{C}/{made[name]}/ballot", headers=erased), 401, "token_invalid"
        )
    assert every_row(app) == before
    # Household 4's member never voted and is not erased: their vote still goes in.
    reply = put_ballot(client, kept, made["satisfaction_open"], choice="satisfied")
    assert reply.status_code == 200, reply.json
