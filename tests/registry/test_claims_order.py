"""The clerk's claims list (issue 12, the walk-through): `GET /communities/{id}/claims` puts the
pending claims first, the oldest of them first, then the reviewed ones; `?status=` lists one
status (pending, verified, rejected, left or revoked), anything else is 422; README's
walk-through asks for `?status=pending`, so the claim it approves is on the first page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from api.core import db
from participation.models import HouseholdClaim
from tests.support.database import every_row

README = Path(__file__).resolve().parents[2] / "README.md"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def claims(app, make):
    """A community with claims of every status, made in this order (by id):
    verified, pending (the newer pending one), rejected, pending (backdated: the oldest claim of
    all), verified. Returns (community id, clerk headers, {name: claim id})."""
    estate = make.estate()
    clerk = make.staff("committee", estate.community_id)
    made = [
        ("verified_1", "verified", 1),
        ("pending_new", "pending", 3),
        ("rejected", "rejected", 2),
        ("pending_old", "pending", 0),
        ("verified_2", "verified", 4),
    ]
    ids = {}
    for name, status, days in made:
        resident = make.member(make.household(estate), status=status)
        with app.app_context():
            claim = db.session.scalar(
                select(HouseholdClaim).where(HouseholdClaim.resident_id == resident.id)
            )
            db.session.execute(
                update(HouseholdClaim)
                .where(HouseholdClaim.id == claim.id)
                .values(created_at=T0 + timedelta(days=days))
            )
            db.session.commit()
            ids[name] = claim.id
    assert list(ids.values()) == sorted(ids.values())  # made in id order
    return estate.community_id, make.headers(clerk), ids


def _listed(client, community_id, headers, **query) -> list[int]:
    reply = client.get(
        f"/api/v1/communities/{community_id}/claims", query_string=query, headers=headers
    )
    assert reply.status_code == 200, reply.get_json()
    return [row["id"] for row in reply.get_json()["items"]]


def test_pending_claims_come_first_the_oldest_first(client, claims):
    community_id, headers, ids = claims
    assert _listed(client, community_id, headers) == [
        ids["pending_old"],
        ids["pending_new"],
        ids["verified_1"],
        ids["rejected"],
        ids["verified_2"],
    ]


def test_the_first_page_holds_the_oldest_pending_claim(client, claims):
    community_id, headers, ids = claims
    assert _listed(client, community_id, headers, per_page=1) == [ids["pending_old"]]
    assert _listed(client, community_id, headers, per_page=1, page=2) == [ids["pending_new"]]
    reply = client.get(
        f"/api/v1/communities/{community_id}/claims?per_page=1", headers=headers
    ).get_json()
    assert reply["total"] == 5


@pytest.mark.parametrize(
    "status, expected",
    [
        ("pending", ["pending_old", "pending_new"]),
        ("verified", ["verified_1", "verified_2"]),
        ("rejected", ["rejected"]),
    ],
)
def test_status_lists_one_status(client, claims, status, expected):
    community_id, headers, ids = claims
    assert _listed(client, community_id, headers, status=status) == [ids[n] for n in expected]


@pytest.mark.parametrize("bad", ["PENDING", "approved", "", "pending,verified", "\x00"])
def test_another_status_is_422_and_writes_nothing(app, client, claims, bad):
    community_id, headers, _ = claims
    before = every_row(app)
    reply = client.get(
        f"/api/v1/communities/{community_id}/claims", query_string={"status": bad}, headers=headers
    )
    assert reply.status_code == 422, reply.get_data(as_text=True)
    error = reply.get_json()["error"]
    assert "status" in error["details"]["fields"], error
    assert every_row(app) == before


def test_the_openapi_summary_and_readme_say_so(client):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/communities/{community_id}/claims"]["get"]
    assert "oldest pending first" in operation["summary"]
    status = next(p for p in operation["parameters"] if p["name"] == "status")
    assert status["schema"]["enum"] == ["pending", "verified", "rejected", "left", "revoked"]
    readme = README.read_text(encoding="utf-8")
    assert 'curl -s "$API/communities/1/claims?status=pending"' in readme
