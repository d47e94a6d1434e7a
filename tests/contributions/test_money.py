"""Money is exact (issue 15, item 4): 10,000 households over five buildings with awkward floor
areas, two schemes (1 fen/m² and 3.33 元/m²), payments, corrections and refunds for most
households, and every total checked to the fen against a ledger the test keeps in integers:
the dues (each household's, summed, per building, the scheme's total, the figures), what was
paid (per household, per building, overall), what is outstanding and overpaid, and the
publicity list summed page by page. No reply carries a float.

The owners' decision that adopts the schemes is answered by a stand-in (`decision_outcome`
passed for every estate): ten thousand ballots would test voting, which its own tests do; the
adoption itself, the amounts it freezes and every write of money go through the services the
API uses. Scheme B's entries are recorded through the payment seam one by one, as a clerk's or
an adapter's would be for one of the five buildings (2,000 households); the other buildings'
entries and scheme A's payments take the faster path (INSERTs of the rows the seam writes),
since they check the sums, not the rules, and the test must not take minutes on PostgreSQL. Runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select

from api.core import db, local_today, utcnow
from devtools import factory
from participation import contributions as reads
from participation.models import (
    ContributionDue,
    ContributionEntry,
    ContributionScheme,
    Household,
    Project,
    Staff,
)
from participation.schemas.payments import MAX_FEN
from participation.service import contributions, payments
from voting.queries.decisions import DecisionOutcome

HOUSEHOLDS = 10_000
BUILDINGS = 5
# Areas in hundredths of a m² (Numeric(10, 2)): the smallest, ones whose product with the
# rates lands on half a fen (x.50 × 1 and × 333), repeating decimals, and the largest the
# column holds.
AWKWARD = (1, 5, 50, 150, 1250, 3333, 8765, 8750, 6001, 12345, 4550, 9999999999)
RATE_A, RATE_B = 1, 333


def expected_due(hundredths: int, rate_fen: int) -> int:
    """area × rate rounded half up to the fen, in integers only."""
    return (hundredths * rate_fen + 50) // 100


def _areas(rng: random.Random) -> list[int]:
    areas = []
    for i in range(HOUSEHOLDS):
        if i % 7 == 0:
            areas.append(AWKWARD[(i // 7) % len(AWKWARD)] if i % 1_000 else 9999999999)
        else:
            areas.append(rng.randrange(3_000, 15_000))  # 30.00–149.99 m²
    return areas


def _roster(app, areas: list[int]) -> dict:
    """County, community, estate, five buildings and the households (bulk), a clerk and an
    owner, a project; committed."""
    with app.app_context():
        county = factory.county("钱县")
        community = factory.community(county, "钱社区")
        estate = factory.estate(community, "钱小区")
        buildings = [factory.building(estate, f"{b + 1}栋") for b in range(BUILDINGS)]
        db.session.flush()
        rows = [
            {
                "estate_id": estate.id,
                "building_id": buildings[i % BUILDINGS].id,
                "unit": f"{(i // BUILDINGS) % 4 + 1}单元",
                "room": f"{i:05d}",
                "floor_area": Decimal(area) / 100,
                "owner_name": f"业主{i}",
                "owner_phone_last4": "1234",
            }
            for i, area in enumerate(areas)
        ]
        ids = list(
            db.session.scalars(
                insert(Household).returning(Household.id, sort_by_parameter_order=True), rows
            )
        )
        clerk = factory.staff("money-clerk", ("committee", community))
        owner = factory.staff("money-owner")
        project = factory.project(county, [estate], "钱项目", status="construction")
        factory.grant(owner, "owner", project)
        db.session.commit()
        return {
            "estate": estate.id,
            "project": project.id,
            "households": ids,
            "building_of": {h: buildings[i % BUILDINGS].id for i, h in enumerate(ids)},
            "buildings": [b.id for b in buildings],
            "clerk": clerk.id,
            "owner": owner.id,
            "clerk_headers": factory.headers(clerk),
        }


def _passed(app, world: dict):
    """A stand-in for voting's answer: every decision of the project passed in its estate."""

    def outcome(consultation_id):
        return DecisionOutcome(
            consultation_id=consultation_id,
            project_id=world["project"],
            title="筹集维修资金",
            matter="raise_maintenance_fund",
            rule="three_quarters",
            status="closed",
            final=True,
            passed=True,
            passed_estate_ids=frozenset({world["estate"]}),
            closed_at=None,
            estates=[],
            created_at=utcnow(),  # drawn up now: after the scheme it is asked about
        )

    return outcome


def _adopted_scheme(app, client, world: dict, rate_fen: int, title: str) -> int:
    created = client.post(
        f"/api/v1/projects/{world['project']}/consultations",
        json={"kind": "owners_decision", "matter": "raise_maintenance_fund"},
        headers=world["clerk_headers"],
    )
    assert created.status_code == 201, created.get_json()
    with app.app_context():
        project = db.session.get(Project, world["project"])
        scheme = contributions.create(
            project,
            db.session.get(Staff, world["owner"]),
            {
                "title": title,
                "basis": "floor_area",
                "rate_fen": rate_fen,
                "due_on": local_today() + timedelta(days=60),
                "matter": "raise_maintenance_fund",
            },
        )
        contributions.link_decision(scheme, created.get_json()["id"])
        contributions.adopt(scheme.id, project)
        db.session.commit()
        return scheme.id


def _plan(i: int, due: int) -> list[tuple[str, int, bool]]:
    """The entries of household `i` owing `due`: (kind, amount, corrects the previous one)."""
    pay = min(due, MAX_FEN)
    kind = (i // BUILDINGS) % 10  # every building gets every kind
    if kind in (2, 3, 4) and pay > 0:
        return [("payment", pay, False)]
    if kind == 5 and pay >= 3:
        return [("payment", pay // 3, False)]
    if kind == 6 and pay >= 2:
        return [("payment", pay // 2, False), ("payment", pay - pay // 2, False)]
    if kind == 7 and due + 7 <= MAX_FEN:
        return [("payment", due + 7, False), ("refund", -7, False)]
    if kind == 8 and due + 100 <= MAX_FEN:
        return [("payment", due + 100, False), ("correction", -100, True)]
    if kind == 9:
        return [("payment", 1, False)]
    return []


def _record_through_the_seam(app, scheme_id: int, households, dues: dict, which) -> dict:
    """The entries of the households `which(i)` picks, through `payments.record` one by one;
    what each has paid."""
    paid = defaultdict(int)
    with app.app_context():
        scheme = db.session.get(ContributionScheme, scheme_id)
        staff = db.session.get(Staff, scheme.created_by_id)
        today = local_today()
        for i, household in enumerate(households):
            if not which(i):
                continue
            previous = None
            for n, (kind, amount, corrects) in enumerate(_plan(i, dues[household])):
                entry = payments.EntryIn(
                    kind=kind,
                    amount_fen=amount,
                    paid_on=today,
                    channel="cash" if i % 2 else "bank_transfer",
                    idempotency_key=f"money-{scheme_id}-{i}-{n}",
                    receipt_no=f"R{i:05d}{n}",
                    corrects_id=previous if corrects else None,
                )
                made, created = payments.record(scheme, household, entry, staff=staff)
                assert created
                previous = made.id
                paid[household] += amount
        db.session.commit()
    return paid


def _row(scheme_id, household, kind, amount, key, corrects_id=None) -> dict:
    return {
        "scheme_id": scheme_id,
        "household_id": household,
        "kind": kind,
        "amount_fen": amount,
        "paid_on": local_today(),
        "channel": "cash",
        "idempotency_key": key,
        "corrects_id": corrects_id,
        "source": "clerk",
    }


def _plan_in_bulk(app, scheme_id: int, households, dues: dict, which) -> dict:
    """The faster path for the households `which(i)` picks: their planned entries as the rows
    the seam would write, in two INSERTs (the corrections, naming the rows of the first)."""
    first, corrections, paid = [], [], defaultdict(int)
    for i, household in enumerate(households):
        if not which(i):
            continue
        for n, (kind, amount, corrects) in enumerate(_plan(i, dues[household])):
            key = f"bulk-{scheme_id}-{i}-{n}"
            if corrects:
                corrections.append((f"bulk-{scheme_id}-{i}-{n - 1}", household, amount, key))
            else:
                first.append(_row(scheme_id, household, kind, amount, key))
            paid[household] += amount
    with app.app_context():
        ids = db.session.scalars(
            insert(ContributionEntry).returning(ContributionEntry.id, sort_by_parameter_order=True),
            first,
        ).all()
        by_key = {row["idempotency_key"]: made for row, made in zip(first, ids, strict=True)}
        rows = [
            _row(scheme_id, household, "correction", amount, key, by_key[corrected])
            for corrected, household, amount, key in corrections
        ]
        if rows:
            db.session.execute(insert(ContributionEntry), rows)
        db.session.commit()
    return paid


def _record_in_bulk(app, scheme_id: int, households, dues: dict) -> dict:
    """The faster path: a payment of the full amount for every other household, one INSERT
    of the rows the seam would write."""
    rows, paid = [], defaultdict(int)
    today = local_today()
    for i, household in enumerate(households):
        amount = min(dues[household], MAX_FEN)
        if i % 2 or amount <= 0:
            continue
        rows.append(
            {
                "scheme_id": scheme_id,
                "household_id": household,
                "kind": "payment",
                "amount_fen": amount,
                "paid_on": today,
                "channel": "cash",
                "idempotency_key": f"bulk-{scheme_id}-{i}",
                "source": "clerk",
            }
        )
        paid[household] += amount
    with app.app_context():
        db.session.execute(insert(ContributionEntry), rows)
        db.session.commit()
    return paid


def _no_float(value, where="reply"):
    """No float anywhere in a reply; every `*_fen` an integer."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_fen") and item is not None:
                assert isinstance(item, int) and not isinstance(item, bool), (where, key, item)
            _no_float(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _no_float(item, where)
    else:
        assert not isinstance(value, float), (where, value)


def _get(client, headers, path):
    reply = client.get(path, headers=headers)
    assert reply.status_code == 200, (path, reply.get_json())
    body = reply.get_json()
    _no_float(body, path)
    return body


def _pages(client, headers, path):
    items, page = [], 1
    while True:
        body = _get(client, headers, f"{path}{'&' if '?' in path else '?'}page={page}&per_page=100")
        items += body["items"]
        if page * 100 >= body["total"]:
            assert len(items) == body["total"]
            return items
        page += 1


def _check_scheme(app, client, world, scheme_id, areas, rate_fen, paid, *, walk_pages):
    households = world["households"]
    headers = world["clerk_headers"]
    due = {h: expected_due(areas[i], rate_fen) for i, h in enumerate(households)}
    building_of = world["building_of"]

    # The frozen dues, one by one, as the database holds them.
    with app.app_context():
        frozen = dict(
            db.session.execute(
                select(ContributionDue.household_id, ContributionDue.amount_fen).where(
                    ContributionDue.scheme_id == scheme_id
                )
            ).all()
        )
        entries = dict(
            db.session.execute(
                select(ContributionEntry.household_id, func.sum(ContributionEntry.amount_fen))
                .where(ContributionEntry.scheme_id == scheme_id)
                .group_by(ContributionEntry.household_id)
            ).all()
        )
    assert frozen == due
    assert {h: int(v) for h, v in entries.items() if v} == {h: v for h, v in paid.items() if v}

    total_due = sum(due.values())
    total_paid = sum(paid.values())
    outstanding = {h: max(due[h] - paid.get(h, 0), 0) for h in households}
    overpaid = {h: max(paid.get(h, 0) - due[h], 0) for h in households}

    detail = _get(client, headers, f"/api/v1/contribution-schemes/{scheme_id}")
    assert detail["summary"]["total_fen"] == total_due
    assert detail["summary"]["households"] == HOUSEHOLDS

    figures = _get(client, headers, f"/api/v1/contribution-schemes/{scheme_id}/figures")
    totals = figures["totals"]
    assert totals["households"] == HOUSEHOLDS
    assert totals["due_fen"] == total_due
    assert totals["paid_fen"] == total_paid
    assert totals["outstanding_fen"] == sum(outstanding.values())
    assert totals["overpaid_fen"] == sum(overpaid.values())
    assert totals["due_fen"] - totals["paid_fen"] == (
        totals["outstanding_fen"] - totals["overpaid_fen"]
    )
    by_building = {b["building_id"]: b for b in figures["buildings"]}
    assert set(by_building) == set(world["buildings"])
    for building_id, row in by_building.items():
        mine = [h for h in households if building_of[h] == building_id]
        assert row["households"] == len(mine)
        assert row["due_fen"] == sum(due[h] for h in mine), building_id
        assert row["paid_fen"] == sum(paid.get(h, 0) for h in mine), building_id
        assert row["outstanding_fen"] == sum(outstanding[h] for h in mine), building_id
    for key in ("households", "due_fen", "paid_fen", "outstanding_fen", "refunded_fen"):
        assert sum(b[key] for b in figures["buildings"]) == totals[key], key
    if not walk_pages:
        return totals

    # Every household's row as the households list reads it (one page of all, read directly:
    # a hundred HTTP pages would test paging, not money), then the publicity list page by page.
    with app.app_context():
        scheme = db.session.get(ContributionScheme, scheme_id)
        rows = reads.households(scheme, {"page": 1, "per_page": HOUSEHOLDS})["items"]
    assert len(rows) == HOUSEHOLDS
    shown = {row["household_id"]: row for row in rows}
    assert set(shown) == set(households)
    for h, row in shown.items():
        assert row["amount_fen"] == due[h], h
        assert row["paid_fen"] == paid.get(h, 0), h
        assert row["outstanding_fen"] == outstanding[h], h
    public = _pages(client, headers, f"/api/v1/contribution-schemes/{scheme_id}/publicity")
    assert sum(row["amount_fen"] for row in public) == total_due
    assert sum(row["paid_fen"] for row in public) == total_paid
    assert all("*" in row["owner"] for row in public if row.get("owner"))
    return totals


def test_every_total_is_exact_to_the_fen(app, client, monkeypatch):
    started = time.monotonic()
    areas = _areas(random.Random(15))
    world = _roster(app, areas)
    monkeypatch.setitem(app.extensions["domain_answers"], "decision_outcome", _passed(app, world))
    scheme_a = _adopted_scheme(app, client, world, RATE_A, "每平方米一分")
    scheme_b = _adopted_scheme(app, client, world, RATE_B, "每平方米三元三角三分")
    built = time.monotonic()

    households = world["households"]
    dues_a = {h: expected_due(areas[i], RATE_A) for i, h in enumerate(households)}
    dues_b = {h: expected_due(areas[i], RATE_B) for i, h in enumerate(households)}
    # The awkward cases are really there: half fen rounded up, the column's largest area.
    assert expected_due(50, RATE_A) == 1 and expected_due(150, RATE_B) == 500  # 499.5 → 500
    assert max(dues_b.values()) == expected_due(9999999999, RATE_B) == 33_299_999_997
    assert min(dues_a.values()) == 0  # 0.01 m² × 1 fen rounds to nothing

    # One building's households through the seam, the other four's the faster way.
    paid_b = _record_through_the_seam(app, scheme_b, households, dues_b, lambda i: i % 5 == 0)
    seam = time.monotonic()
    paid_b.update(_plan_in_bulk(app, scheme_b, households, dues_b, lambda i: i % 5 != 0))
    paid_a = _record_in_bulk(app, scheme_a, households, dues_a)

    totals_b = _check_scheme(app, client, world, scheme_b, areas, RATE_B, paid_b, walk_pages=True)
    totals_a = _check_scheme(app, client, world, scheme_a, areas, RATE_A, paid_a, walk_pages=False)
    assert totals_b["refunded_fen"] == 7 * sum(
        1
        for i, h in enumerate(households)
        if (i // BUILDINGS) % 10 == 7 and dues_b[h] + 7 <= MAX_FEN
    )
    assert totals_a["refunded_fen"] == 0
    assert totals_b["paid_in_full"] + totals_b["partly_paid"] + totals_b["unpaid"] == HOUSEHOLDS
    entries = _get(
        client, world["clerk_headers"], f"/api/v1/contribution-schemes/{scheme_b}/entries"
    )
    seam_entries = sum(len(_plan(i, dues_b[h])) for i, h in enumerate(households) if i % 5 == 0)
    assert entries["total"] == sum(len(_plan(i, dues_b[h])) for i, h in enumerate(households))
    print(
        f"\nmoney: roster+adoption {built - started:.1f}s, seam {seam - built:.1f}s "
        f"({seam_entries} of {entries['total']} entries), checks {time.monotonic() - seam:.1f}s"
    )
