"""A world for the tests of money in and out (H2's part of issue 15): the voting world
(tests/support/voting_world.py: an estate of four households with verified owners, a project, a
caller of every kind) with contribution schemes built through the schemes' own service, an
owners' decision on raising the maintenance fund that the owners pass by voting, and helpers
to post entries and expenses."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from api.core import db, local_today
from participation.models import (
    ContributionEntry,
    ContributionScheme,
    FundingLine,
    Project,
    Staff,
)
from participation.service import contributions
from tests.support.voting_helpers import backdate_opening, run_jobs
from tests.support.voting_world import (
    World,
    close,
    create_consultation,
    open_,
    put_ballot,
)

RATE_FEN = 1250  # 12.50 元/m²: 80.00 m² owes 1,000.00 元
DUE_FEN = 100_000
_keys = itertools.count(1)


def new_key() -> str:
    """An idempotency key no other request of the session has used."""
    return f"test-key-{next(_keys):06d}"


def passed_decision(app, client, w: World, matter: str = "raise_maintenance_fund") -> int:
    """An owners' decision of the world's project on `matter`, every owner agreeing, closed
    after its minimum period and counted: final and passed."""
    cid = create_consultation(client, w, kind="owners_decision", matter=matter, plan_id=None)
    open_(client, w, cid)
    for headers in w.members:
        reply = put_ballot(client, headers, cid, choice="agree")
        assert reply.status_code == 200, reply.get_json()
    backdate_opening(app, cid)
    close(client, w, cid)
    run_jobs(app)
    return cid


def make_scheme(
    app,
    w: World,
    *,
    title: str = "加装电梯居民出资",
    decided: bool = False,
    adopt: bool = False,
    cancel: bool = False,
    basis: str = "floor_area",
    rate_fen: int = RATE_FEN,
) -> int:
    """A scheme of the world's project (a draft; linked to an owners' decision of its own,
    drawn up after it and passed, when `decided`; adopted when asked, then cancelled when
    asked), built through the schemes' service; its id. One owners' decision adopts one scheme,
    and only one drawn up after the scheme's terms, so each scheme gets its own."""
    with app.app_context():
        project = db.session.get(Project, w.project_id)
        owner = db.session.get(Staff, w.scene.owner.id)
        scheme = contributions.create(
            project,
            owner,
            {
                "title": title,
                "basis": basis,
                "rate_fen": rate_fen,
                "due_on": local_today() + timedelta(days=60),
                "matter": "raise_maintenance_fund",
            },
        )
        db.session.commit()
        scheme_id = scheme.id
    if decided or adopt:
        decision = passed_decision(app, app.test_client(), w)
    with app.app_context():
        project = db.session.get(Project, w.project_id)
        scheme = db.session.get(ContributionScheme, scheme_id)
        if decided or adopt:
            contributions.link_decision(scheme, decision)
        if adopt:
            contributions.adopt(scheme.id, project)
        if cancel:
            contributions.cancel(scheme.id, "方案调整")
        db.session.commit()
        return scheme.id


def cancel_scheme(app, scheme_id: int) -> None:
    with app.app_context():
        contributions.cancel(scheme_id, "方案调整")
        db.session.commit()


def funding_line(app, project_id: int, source: str = "government", amount: str = "1000.00"):
    """A funding line of the project, committed; its id."""
    with app.app_context():
        line = FundingLine(project_id=project_id, source=source, amount=Decimal(amount))
        db.session.add(line)
        db.session.commit()
        return line.id


def entry_body(household_id: int, **overrides) -> dict:
    """A valid payment of 100.00 元 in cash today, with a fresh key."""
    body = {
        "household_id": household_id,
        "kind": "payment",
        "amount_fen": 10_000,
        "paid_on": local_today().isoformat(),
        "channel": "cash",
        "receipt_no": "NO.0001",
        "idempotency_key": new_key(),
    }
    body.update(overrides)
    return body


def post_entry(client, headers, scheme_id: int, body: dict):
    return client.post(
        f"/api/v1/contribution-schemes/{scheme_id}/entries", json=body, headers=headers
    )


def entry_count(app, scheme_id: int | None = None) -> int:
    with app.app_context():
        try:
            query = db.session.query(ContributionEntry)
            if scheme_id is not None:
                query = query.filter(ContributionEntry.scheme_id == scheme_id)
            return query.count()
        finally:
            db.session.remove()


def yesterday() -> str:
    return (local_today() - timedelta(days=1)).isoformat()


def tomorrow() -> str:
    return (local_today() + timedelta(days=1)).isoformat()
