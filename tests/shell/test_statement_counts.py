"""How many SQL statements the screens residents open most, and the ballot, cost (issue 11).

No test asserts a time; these pin the number of statements each endpoint executes instead, so
that a change that adds one (a lazy load in a schema, a second look-up of the caller, a count
over the ballots) fails here and says which statement came in. Counted with
`tests.support.statements.count_statements` (what it leaves out, the harness's savepoints and
in-process jobs, is said there).

The pinned numbers, for a resident (verified member of a household of the project's estate)
and for staff (the committee clerk of the estate's community):

- `GET /projects/{id}`: the caller with the project and whether they see it (staff: with
  their grants); the project's estates; its open consultations with the gate consultation's
  status and count; the current plan with its items; the current plan's attachments (the
  feedback domain's rows, issue 12). Funding and milestones are joined in the first statement.
- `GET /projects/{id}/gate`: the caller with the project; the current plan, the gate
  consultation and its stored tally (never the ballots).
- `GET /consultations/{id}`: the caller with the consultation and its project (and, for a
  resident, whether they see it); a resident's eligibility.
- `GET /notices`: the caller; one page with its total. Without a scheduler (no Redis, the
  embedded default) the list also does what is due first: due notices published, stuck
  deliveries retried, stalled sends nudged, closing reminders announced (`EMBEDDED_SWEEP`).
- `PUT /consultations/{id}/ballot`: see `BALLOT`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from api.core import db, utcnow
from devtools import factory
from participation.models import FundingLine, Household, Project
from tests.support.notices_helpers import post_notice
from tests.support.statements import count_statements
from tests.support.voting_helpers import build_scene, open_consultation, resident
from voting.models import Ballot
from voting.service.tally import recompute

RESIDENT, STAFF = "resident", "staff"

READS = {
    # endpoint: (resident, staff)
    "project": (5, 5),
    "gate": (2, 2),
    "consultation": (2, 1),
    "notices": (2, 2),
}
# What GET /notices does first when no scheduler runs (InlineRunner): 4 statements.
EMBEDDED_SWEEP = 4
# PUT /consultations/{id}/ballot, as a resident eligible to vote, per dialect. PostgreSQL: the
# consultation with the caller's eligibility and weights (one statement); the ballot's upsert,
# its audit row and the tally's change counter (one statement). SQLite, which has no
# data-modifying CTE: the read, the upsert, the audit row, the counter.
BALLOT = {"postgresql": 2, "sqlite": 4}


def _embedded(app) -> bool:
    return app.extensions["jobs"].inline


@pytest.fixture
def world(app, client, make):
    """A project on an estate of 4 households (one verified member each), with milestones,
    two funding lines and a plan; its plan satisfaction consultation open; a notice to the
    community. Callers: the first household's member and the community's clerk."""
    scene = build_scene(app, households=4)
    with app.app_context():
        project = db.session.get(Project, scene.project_id)
        factory.milestones(project)
        for source in ("government", "residents"):
            db.session.add(FundingLine(project_id=project.id, source=source, amount=1000))
        db.session.commit()
    consultation_id = open_consultation(client, make, scene)
    assert post_notice(client, make, scene.clerk, community_id=scene.community_id).status_code
    return {
        "scene": scene,
        "consultation_id": consultation_id,
        "headers": {
            RESIDENT: make.headers(resident(app, scene.resident_ids[0])),
            STAFF: make.headers(scene.clerk),
        },
        "members": [make.headers(resident(app, r)) for r in scene.resident_ids],
    }


def _url(world, read: str) -> str:
    scene = world["scene"]
    return {
        "project": f"/api/v1/projects/{scene.project_id}",
        "gate": f"/api/v1/projects/{scene.project_id}/gate",
        "consultation": f"/api/v1/consultations/{world['consultation_id']}",
        "notices": "/api/v1/notices",
    }[read]


def _get(app, client, url, headers):
    with count_statements(app) as statements:
        reply = client.get(url, headers=headers)
    assert reply.status_code == 200, reply.json
    return reply, statements


@pytest.mark.parametrize("caller", [RESIDENT, STAFF])
@pytest.mark.parametrize("read", list(READS))
def test_a_read_costs_its_pinned_statements(app, client, world, read, caller):
    expected = READS[read][0 if caller == RESIDENT else 1]
    if read == "notices" and _embedded(app):
        expected += EMBEDDED_SWEEP
    _, statements = _get(app, client, _url(world, read), world["headers"][caller])
    assert statements.count == expected, str(statements)


@pytest.mark.parametrize("caller", [RESIDENT, STAFF])
def test_the_caller_is_read_once(app, client, world, caller):
    """Neither the resident's nor the staff member's row (nor a grant) is read twice, and
    every screen reads the caller in its first statement."""
    table = "residents" if caller == RESIDENT else "staff"
    for read in READS:
        _, statements = _get(app, client, _url(world, read), world["headers"][caller])
        callers = [s for s in statements.sql if f"FROM {table}" in s]
        assert len(callers) == 1, str(statements)
        assert f"FROM {table}" in statements.sql[0], str(statements)
        assert sum("role_grants" in s for s in statements.sql) == (caller == STAFF), str(statements)


def test_a_resident_s_project_screen_reads_no_plan_but_the_current_one(app, client, world):
    """A project with three plan versions: the reply's `current_plan` is the latest, read with
    its items in one statement; the count does not grow with the versions."""
    scene = world["scene"]
    with app.app_context():
        project = db.session.get(Project, scene.project_id)
        factory.plan(project, scene.owner, items=[("greening", "绿化", "500")], version=2)
        items = [("lighting", "照明", "300"), ("fitness", "健身", "1")]
        factory.plan(project, scene.owner, items=items, version=3)
        db.session.commit()
    reply, statements = _get(app, client, _url(world, "project"), world["headers"][RESIDENT])
    assert statements.count == READS["project"][0], str(statements)
    assert reply.json["current_plan"]["version"] == 3
    assert [i["category"] for i in reply.json["current_plan"]["items"]] == ["lighting", "fitness"]
    assert len(reply.json["milestones"]) == 4 and len(reply.json["funding"]) == 2


def test_a_ballot_costs_its_pinned_statements(app, client, world):
    url = f"/api/v1/consultations/{world['consultation_id']}/ballot"
    with count_statements(app) as statements:
        reply = client.put(url, json={"choice": "satisfied"}, headers=world["members"][1])
    assert reply.status_code == 200, reply.json
    with app.app_context():
        dialect = db.engine.dialect.name
    assert statements.count == BALLOT[dialect], str(statements)


def _add_ballots(app, consultation_id: int, households: list[int]) -> None:
    """Ballots written straight into the table (thousands through the API would take long),
    then the tally recounted and committed, as the tally job would."""
    now = utcnow() - timedelta(minutes=1)
    rows = [
        {
            "consultation_id": consultation_id,
            "household_id": household_id,
            "choice": "satisfied",
            "item_opinions": {},
            "receipt": f"r{household_id:015d}",
            "channel": "wechat",
            "weight_area": 80,
            "weight_persons": 1,
            "revision": 1,
            "delegated": False,
            "created_at": now,
            "updated_at": now,
        }
        for household_id in households
    ]
    with app.app_context():
        db.session.execute(insert(Ballot), rows)
        recompute(consultation_id)
        db.session.commit()


def test_the_gate_read_costs_the_same_at_10_and_1000_ballots(app, client, make):
    """The gate answers from the stored tally row and its freshness watermark: the same
    statements at 10 as at 1,000 ballots, and none of them reads the ballots."""
    scene = build_scene(app, households=1000)
    consultation_id = open_consultation(client, make, scene)
    with app.app_context():
        households = list(
            db.session.scalars(
                select(Household.id)
                .where(Household.estate_id == scene.estate_id)
                .order_by(Household.id)
            )
        )
    url = f"/api/v1/projects/{scene.project_id}/gate"
    callers = {
        RESIDENT: make.headers(resident(app, scene.resident_ids[0])),
        STAFF: make.headers(scene.clerk),
    }
    counts = {}
    for ballots, added in ((10, households[:10]), (1000, households[10:])):
        _add_ballots(app, consultation_id, added)
        for caller, headers in callers.items():
            reply, statements = _get(app, client, url, headers)
            assert reply.json["counted"] == ballots
            assert reply.json["stale"] is False
            assert not [s for s in statements.sql if "ballot" in s.lower()], str(statements)
            counts[ballots, caller] = statements.count
    assert counts[10, RESIDENT] == counts[1000, RESIDENT] == READS["gate"][0]
    assert counts[10, STAFF] == counts[1000, STAFF] == READS["gate"][1]
