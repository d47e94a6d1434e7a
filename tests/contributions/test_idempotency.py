"""Two clerks recording at once cannot double-count (issue 15, item 4), on PostgreSQL with real
threads, each request on its own connection.

Each test holds the first request after it has inserted its entry and before it commits, and
sends the second meanwhile: the second must wait for the household's account (its frozen due
row is locked) or for the first's key, then see what the first committed.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from api.core import db
from participation.models import ContributionEntry
from participation.service import expenses, payments
from tests.contributions.money_world import (
    entry_body,
    funding_line,
    make_scheme,
    new_key,
    post_entry,
)
from tests.support.voting_world import assert_error_shape, build_world

HOLD = 0.5  # seconds the first request waits, inserted and not committed


def _rows(app, scheme_id: int) -> list[tuple[int, int]]:
    with app.app_context():
        try:
            return list(
                db.session.execute(
                    select(ContributionEntry.household_id, ContributionEntry.amount_fen)
                    .where(ContributionEntry.scheme_id == scheme_id)
                    .order_by(ContributionEntry.id)
                )
            )
        finally:
            db.session.remove()


def _race(app, monkeypatch, headers, scheme_id: int, first: dict, second: dict, *, path=None):
    """POST `first`, hold it once inserted, POST `second` meanwhile; both replies."""
    service = payments if path is None else expenses
    path = path or f"/api/v1/contribution-schemes/{scheme_id}/entries"
    inserted = threading.Event()
    real_note = service.note_row
    holder = threading.local()

    def note_row(*args, **kwargs):
        real_note(*args, **kwargs)
        if getattr(holder, "hold", False):
            inserted.set()
            time.sleep(HOLD)

    monkeypatch.setattr(service, "note_row", note_row)
    replies = {}

    def send(name, body, hold):
        holder.hold = hold
        if not hold:
            inserted.wait(5)
        replies[name] = app.test_client().post(path, json=body, headers=headers)

    threads = [
        threading.Thread(target=send, args=("first", first, True)),
        threading.Thread(target=send, args=("second", second, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert inserted.is_set(), "the first request never inserted"
    return replies["first"], replies["second"]


@pytest.fixture
def world(app, make):
    w = build_world(app, make)
    w.adopted = make_scheme(app, w, decided=True, adopt=True)
    return w


@pytest.mark.services
def test_the_same_payment_posted_twice_at_once_is_one_entry(app, monkeypatch, world):
    body = entry_body(world.scene.household_ids[0], amount_fen=50_000)
    first, second = _race(app, monkeypatch, world.headers["clerk"], world.adopted, body, dict(body))

    assert first.status_code == 201, first.get_json()
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["id"] == first.get_json()["id"]
    assert _rows(app, world.adopted) == [(world.scene.household_ids[0], 50_000)]


@pytest.mark.services
def test_a_key_reused_for_another_household_at_once_is_refused_not_a_500(app, monkeypatch, world):
    """Two households' accounts are not ordered by one lock: the key's UNIQUE constraint
    decides, and the loser is told the key was used (409), never a 500."""
    body = entry_body(world.scene.household_ids[0])
    other = {**body, "household_id": world.scene.household_ids[1]}
    first, second = _race(app, monkeypatch, world.headers["clerk"], world.adopted, body, other)

    assert first.status_code == 201, first.get_json()
    assert_error_shape(second, 409, "idempotency_key_reused")
    assert _rows(app, world.adopted) == [(world.scene.household_ids[0], 10_000)]


@pytest.mark.services
def test_two_refunds_at_once_cannot_overdraw_a_household(app, monkeypatch, world):
    household = world.scene.household_ids[2]
    scheme = make_scheme(app, world, title="将取消的方案", decided=True, adopt=True)
    paid = post_entry(
        app.test_client(), world.headers["clerk"], scheme, entry_body(household, amount_fen=10_000)
    )
    assert paid.status_code == 201
    with app.app_context():
        from participation.service import contributions

        contributions.cancel(scheme, "方案调整")
        db.session.commit()

    refund = entry_body(household, kind="refund", amount_fen=-6_000, channel="bank_transfer")
    other = {**refund, "idempotency_key": refund["idempotency_key"] + "-b"}
    first, second = _race(app, monkeypatch, world.headers["county_officer"], scheme, refund, other)

    assert first.status_code == 201, first.get_json()
    error = assert_error_shape(second, 409, "refund_too_large")
    assert error["details"] == {"paid_fen": 4_000, "refundable_fen": 4_000}
    with app.app_context():
        try:
            total = db.session.scalar(
                select(func.sum(ContributionEntry.amount_fen)).where(
                    ContributionEntry.scheme_id == scheme
                )
            )
        finally:
            db.session.remove()
    assert total == 4_000


@pytest.mark.services
def test_two_corrections_of_one_expense_at_once_cannot_take_it_below_zero(app, monkeypatch, world):
    line = funding_line(app, world.project_id)
    path = f"/api/v1/projects/{world.project_id}/expenses"
    owner = world.headers["owner"]
    original = app.test_client().post(
        path,
        json={
            "funding_line_id": line,
            "amount_fen": 500,
            "spent_on": "2026-01-05",
            "description": "材料款",
            "idempotency_key": new_key(),
        },
        headers=owner,
    )
    assert original.status_code == 201, original.get_json()
    correction = {
        "funding_line_id": line,
        "amount_fen": -300,
        "spent_on": "2026-01-06",
        "description": "退回多付的材料款",
        "corrects_id": original.get_json()["id"],
        "idempotency_key": new_key(),
    }
    other = {**correction, "idempotency_key": new_key()}
    first, second = _race(app, monkeypatch, owner, 0, correction, other, path=path)

    assert first.status_code == 201, first.get_json()
    error = assert_error_shape(second, 409, "balance_negative")
    assert error["details"]["standing_fen"] == 200
