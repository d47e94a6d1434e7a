"""Building blocks of the contribution scheme tests: a scheme of the voting world's project, an
owners' decision in a given state, a second estate on the project, rows as stored."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import insert, select

from api.core import db, local_today
from participation.models import (
    Building,
    ContributionDue,
    ContributionPledge,
    ContributionScheme,
    FundingLine,
    Household,
    project_estates,
)
from tests.support.voting_helpers import backdate_opening, run_jobs
from tests.support.voting_world import World, close, create_consultation, open_, put_ballot

S = "/api/v1/contribution-schemes"


def due_on(days: int = 30) -> str:
    return (local_today() + timedelta(days=days)).isoformat()


def scheme_body(**body) -> dict:
    return {
        "title": "加装电梯居民出资",
        "basis": "floor_area",
        "rate_fen": 1250,
        "due_on": due_on(),
        **body,
    }


def create_scheme(client, w: World, headers=None, project_id=None, **body) -> dict:
    """A draft scheme of the world's project (as its owner unless `headers`); its reply."""
    reply = client.post(
        f"/api/v1/projects/{project_id or w.project_id}/contribution-schemes",
        json=scheme_body(**body),
        headers=headers or w.headers["owner"],
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def owners_decision(
    app, client, w: World, state: str = "passed", matter: str = "raise_maintenance_fund", votes=None
) -> int:
    """An owners' decision of the world's project on `matter`: `draft`, `open`, `passed` (every
    member agrees), `failed` (every member disagrees), or closed with `votes` (one choice per
    header of `w.members`, None: no ballot); counted."""
    cid = create_consultation(client, w, kind="owners_decision", matter=matter, plan_id=None)
    if state == "draft":
        return cid
    open_(client, w, cid)
    if state == "open":
        return cid
    if votes is None:
        votes = ["agree" if state == "passed" else "disagree"] * len(w.members)
    for headers, choice in zip(w.members, votes, strict=True):
        if choice is not None:
            reply = put_ballot(client, headers, cid, choice=choice)
            assert reply.status_code == 200, reply.get_json()
    backdate_opening(app, cid)
    close(client, w, cid)
    run_jobs(app)
    return cid


def link(client, w: World, scheme_id: int, cid: int, headers=None):
    return client.put(
        f"{S}/{scheme_id}/decision",
        json={"consultation_id": cid},
        headers=headers or w.headers["owner"],
    )


def adopt(client, w: World, scheme_id: int, headers=None):
    return client.post(f"{S}/{scheme_id}/adopt", headers=headers or w.headers["owner"])


def adopted_scheme(app, client, w: World, **body) -> dict:
    """A scheme adopted by a passed owners' decision; its reply."""
    scheme = create_scheme(client, w, **body)
    cid = owners_decision(app, client, w, "passed", matter=scheme["matter"])
    assert link(client, w, scheme["id"], cid).status_code == 200
    reply = adopt(client, w, scheme["id"])
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def add_estate(app, make, w: World, households: int = 4, area: str = "60.00") -> SimpleNamespace:
    """A second estate in the world's community, on the world's project, with `households`
    households in its building 甲栋, each with a verified owner. Before any decision opens:
    the electorate is frozen then."""
    estate = make.estate(SimpleNamespace(id=w.scene.community_id), name="二号小区")
    homes = [
        make.household(estate, building="甲栋", room=f"{201 + i}", name=f"李{i}四", area=area)
        for i in range(households)
    ]
    owners = [make.member(home) for home in homes]
    with app.app_context():
        db.session.execute(
            insert(project_estates).values(project_id=w.project_id, estate_id=estate.id)
        )
        db.session.commit()
        building_id = db.session.scalar(select(Building.id).where(Building.estate_id == estate.id))
    return SimpleNamespace(
        id=estate.id,
        building_id=building_id,
        household_ids=[h.id for h in homes],
        headers=[make.headers(o) for o in owners],
    )


def scene_building_id(app, w: World) -> int:
    with app.app_context():
        return db.session.get(Household, w.scene.household_ids[0]).building_id


def funding_line(app, project_id: int, amount: str = "1000.00", source="residents") -> int:
    with app.app_context():
        line = FundingLine(project_id=project_id, source=source, amount=Decimal(amount))
        db.session.add(line)
        db.session.commit()
        return line.id


def dues(app, scheme_id: int) -> dict[int, int]:
    """household id → frozen amount_fen."""
    with app.app_context():
        return dict(
            db.session.execute(
                select(ContributionDue.household_id, ContributionDue.amount_fen).where(
                    ContributionDue.scheme_id == scheme_id
                )
            ).all()
        )


def pledges(app, scheme_id: int) -> dict[int, tuple]:
    with app.app_context():
        return {
            p.household_id: (p.choice, p.reason, p.resident_id, p.staff_id)
            for p in db.session.scalars(
                select(ContributionPledge).where(ContributionPledge.scheme_id == scheme_id)
            )
        }


def scheme_row(app, scheme_id: int) -> dict:
    with app.app_context():
        s = db.session.get(ContributionScheme, scheme_id)
        return {"status": s.status, "decision_id": s.decision_id, "title": s.title}
