"""A project's funding lines keep their identity across an edit (issue 15): a contribution scheme
or an expense names a line, so `PATCH /projects/{id}` changes a line given by its `id` in place,
refuses to remove a line something names (409 `funding_line_in_use`, nothing changed) and
refuses another project's line (422). Replies carry each line's id and its amount in fen."""

from __future__ import annotations

import pytest

from api.core import db
from participation.models import FundingLine
from tests.contributions.money_world import funding_line, new_key
from tests.support.voting_world import assert_error_shape, build_world


@pytest.fixture
def world(app, make):
    w = build_world(app, make)
    w.government = funding_line(app, w.project_id, "government", "10000.55")
    w.residents = funding_line(app, w.project_id, "residents", "2500.00")
    w.elsewhere = funding_line(app, w.other_project_id, "government", "10.00")
    return w


def _lines(app, project_id: int) -> list[tuple]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(FundingLine)
            .where(FundingLine.project_id == project_id)
            .order_by(FundingLine.id)
        )
        return [(line.id, line.source, str(line.amount), line.note) for line in rows]


def _patch(client, w, funding):
    return client.patch(
        f"/api/v1/projects/{w.project_id}", json={"funding": funding}, headers=w.headers["owner"]
    )


def _expense(client, w, line_id: int):
    reply = client.post(
        f"/api/v1/projects/{w.project_id}/expenses",
        json={
            "funding_line_id": line_id,
            "amount_fen": 100,
            "spent_on": "2026-01-05",
            "description": "材料款",
            "idempotency_key": new_key(),
        },
        headers=w.headers["owner"],
    )
    assert reply.status_code == 201, reply.get_json()


def test_the_reply_gives_each_line_its_id_and_exact_fen(app, client, world):
    reply = client.get(f"/api/v1/projects/{world.project_id}", headers=world.headers["owner"])
    funding = {line["id"]: line for line in reply.get_json()["funding"]}
    assert funding[world.government]["amount_fen"] == 1_000_055
    assert funding[world.residents]["amount_fen"] == 250_000
    assert reply.get_json()["funding_total_fen"] == 1_250_055


def test_a_line_named_by_id_is_changed_in_place_and_the_rest_replaced(app, client, world):
    reply = _patch(
        client,
        world,
        [
            {"id": world.government, "source": "government", "amount": "12000.10", "note": "追加"},
            {"source": "social_capital", "amount": "300"},
        ],
    )
    assert reply.status_code == 200, reply.get_json()
    lines = _lines(app, world.project_id)
    assert lines[0] == (world.government, "government", "12000.10", "追加")
    assert [line[1] for line in lines[1:]] == ["social_capital"]  # residents' line removed


def test_a_line_an_expense_names_cannot_be_removed(app, client, world):
    _expense(client, world, world.residents)
    before = _lines(app, world.project_id)
    reply = _patch(client, world, [{"id": world.government, "source": "government", "amount": 1}])
    body = assert_error_shape(reply, 409, "funding_line_in_use")
    assert body["details"]["funding_line_ids"] == [world.residents]
    assert _lines(app, world.project_id) == before
    # Named by its id, it stays, and the edit goes through.
    reply = _patch(
        client,
        world,
        [{"id": world.residents, "source": "residents", "amount": "2600"}],
    )
    assert reply.status_code == 200, reply.get_json()
    assert [line[0] for line in _lines(app, world.project_id)] == [world.residents]


def test_another_projects_line_or_a_line_twice_is_refused(app, client, world):
    before = _lines(app, world.project_id)
    for funding in (
        [{"id": world.elsewhere, "source": "government", "amount": 1}],
        [
            {"id": world.government, "source": "government", "amount": 1},
            {"id": world.government, "source": "government", "amount": 2},
        ],
    ):
        assert_error_shape(_patch(client, world, funding), 422, "funding_line_unknown")
        assert _lines(app, world.project_id) == before
