"""The resident's notices are read through their own households' targets, never by walking every
notice (issue 12, screen 1: the home screen's unread count runs on every launch of the
mini-program, and the notices table holds every notice of the prefecture).

Asked of PostgreSQL's plan (EXPLAIN ANALYZE): with thousands of notices to hundreds of other
households and a handful to the caller's, the statements touch about the caller's handful. A resident's
notices used to be `recipient = me OR EXISTS (a target of my households)`; that OR cannot be
answered from an index, so every notice was read and filtered (240 ms with 330,000 notices).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from api.core import db, utcnow
from devtools import factory
from notices import queries

pytestmark = pytest.mark.services

OTHERS = 3000  # notices to the other households of the estate, spread over them
NEIGHBOURS = 300  # the other households, in another building
MINE = 5  # notices to the caller's household, 2 of them read
TOUCHED = 50  # rows of `notices` a statement may read: a handful, not OTHERS


def _rows_read(plan: dict, table: str) -> int:
    """Rows the plan's nodes on `table` produced or threw away, over every loop."""
    rows = 0
    if plan.get("Relation Name") == table:
        loops = plan.get("Actual Loops", 1)
        rows += plan.get("Actual Rows", 0) * loops
        rows += plan.get("Rows Removed by Filter", 0) * loops
        rows += plan.get("Rows Removed by Index Recheck", 0) * loops
    for child in plan.get("Plans", []):
        rows += _rows_read(child, table)
    return rows


def _explain(statement, resident_id: int) -> dict:
    compiled = statement.compile(dialect=db.engine.dialect)
    params = dict(compiled.params)
    params.update(resident_id=resident_id, now=utcnow())
    cursor = db.session.connection().connection.driver_connection.cursor()
    cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}", params)
    return cursor.fetchone()[0][0]["Plan"]


def _notices(place: dict, count: int) -> list[int]:
    return list(
        db.session.scalars(
            text(
                "INSERT INTO notices (category, title, body, attachments, pinned, target_kind,"
                " county_id, community_id, estate_id, status, published_at, created_at,"
                " updated_at) SELECT 'general', '通知', '内容', '[]', false, 'estate',"
                " :county, :community, :estate, 'published', now() - g * interval '1 minute',"
                " now(), now() FROM generate_series(1, :count) g RETURNING id"
            ),
            {**place, "count": count},
        )
    )


def _targets(notice_ids: list[int], household_ids: list[int]) -> None:
    """Each notice to one of the households, in turn."""
    db.session.execute(
        text("INSERT INTO notice_targets (notice_id, household_id) VALUES (:n, :h)"),
        [{"n": n, "h": household_ids[i % len(household_ids)]} for i, n in enumerate(notice_ids)],
    )


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(lambda: queries._UNREAD_COUNT, id="the home screen's unread count"),
        pytest.param(lambda: queries._resident_list(False, None), id="GET /notices"),
    ],
)
def test_a_residents_notices_are_found_from_their_households_not_by_reading_all(
    app, make, statement
):
    county = make.county("州县")
    community = make.community(county, "甲社区")
    estate = make.estate(community, "团结小区")
    mine = make.household(estate)
    resident = make.member(mine)
    with app.app_context():
        neighbours = factory.households(estate, factory.building(estate, "2栋"), NEIGHBOURS)
        place = {"county": county.id, "community": community.id, "estate": estate.id}
        _targets(_notices(place, OTHERS), neighbours)
        own = _notices(place, MINE)
        _targets(own, [mine.id])
        db.session.execute(
            text(
                "INSERT INTO notice_reads (notice_id, resident_id, read_at) VALUES (:n, :r, now())"
            ),
            [{"n": n, "r": resident.id} for n in own[:2]],
        )
        db.session.commit()
        db.session.execute(text("ANALYZE notices, notice_targets, notice_reads, household_claims"))
        assert queries.unread_count(resident.id, utcnow()) == MINE - 2

        plan = _explain(statement(), resident.id)
        db.session.rollback()
    assert _rows_read(plan, "notices") <= TOUCHED, plan
