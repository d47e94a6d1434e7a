"""Review probe: names sort "as people count" (`participation.queries.natural_key`) in the
floor grid, the turnout workbook and the pick lists. A name with a character Python calls a
digit but cannot read as a number (superscript ², circled ①, as a roster or a clerk's
correction may hold: 10①, 2²) made `int()` fail: a 500 for the whole building's grid, the
committee's turnout list and the residents' pick list."""

from __future__ import annotations

import pytest

from api.core import db
from devtools import factory
from participation.models import Estate
from participation.queries import natural_key
from tests.support.voting_world import World, build_world, consultation_in

ODD = ["10①", "²", "2²", "1²0", "①"]


def test_the_key_orders_every_name_and_reads_only_real_digits():
    names = ["10", "2", "１１", *ODD, "B", ""]
    ordered = sorted(names, key=natural_key)
    assert ordered[0] == "" and ordered.index("2") < ordered.index("10") < ordered.index("１１")
    assert natural_key("１１") == ((0, 11, ""),)
    assert natural_key("10①") == ((0, 10, ""), (1, 0, "①"))


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    return build_world(app, module_make)


def test_odd_digits_are_never_a_500(app, client, world):
    w = world
    with app.app_context():
        estate = db.session.get(Estate, w.scene.estate_id)
        for k, room in enumerate(ODD):
            factory.household(estate, room, building_name="1栋", unit=ODD[k], owner_name="李四")
        factory.household(estate, "101", building_name="²号楼", unit="", owner_name="李四")
        db.session.commit()
        building_id = factory.building(estate, "1栋").id
    cid = consultation_in(app, client, w, "closed")
    clerk = w.headers["clerk"]
    for path in (
        f"/api/v1/consultations/{cid}/turnout/grid",
        f"/api/v1/consultations/{cid}/turnout.xlsx",
        f"/api/v1/consultations/{cid}/non-voters",
        f"/api/v1/estates/{w.scene.estate_id}/buildings",
        f"/api/v1/buildings/{building_id}/units",
    ):
        reply = client.get(path, headers=clerk)
        assert reply.status_code == 200, (path, reply.get_data(as_text=True)[:300])
    grid = client.get(f"/api/v1/consultations/{cid}/turnout/grid", headers=clerk).get_json()
    units = [u["unit"] for u in grid["units"]]
    assert set(ODD) <= set(units)
