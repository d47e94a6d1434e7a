"""The warranty period (保修期, issue 15 item 5): the end date set at acceptance (Feb 29 included)
and moved by a change of `warranty_years`; residents' problems after acceptance are warranty
tickets the owner answers like construction ones, until the end date and not after; the
overview counts the warranty tickets not resolved, per project and per county."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from api.core import db, local_today
from feedback.models import SupervisorSignup
from feedback.models.tickets import Ticket, TicketEvent, add_working_days
from participation.models import Project
from tests.support.feedback_world import (
    RESIDENTS_OUT,
    STAFF,
    World,
    acceptance_body,
    assert_error_shape,
    build_world,
    refused,
    set_columns,
    snapshot,
)


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return build_world(app)


def _ok(reply, status: int = 200) -> dict:
    assert reply.status_code == status, reply.get_data(as_text=True)[:500]
    return reply.json


def _accept(client, w, held_on: date | None = None) -> dict:
    """The world's completed project through its joint acceptance (held on `held_on`) to
    `accepted`: the project as the reply shows it."""
    owner = w.headers["owner"]
    body = acceptance_body([w.callers["resident_member"]], held_on=held_on)
    _ok(client.post(f"/api/v1/projects/{w.completed}/acceptance", json=body, headers=owner), 201)
    step = f"/api/v1/projects/{w.completed}/transitions"
    return _ok(client.post(step, json={"to": "accepted"}, headers=owner))


def _report(client, w, project: int, actor: str = "resident_member", text: str = "外墙渗水"):
    return client.post(
        f"/api/v1/projects/{project}/problems",
        json={"description": text, "aspects": ["workmanship"]},
        headers=w.headers[actor],
    )


def _patch_years(client, w, years) -> dict:
    reply = client.patch(
        f"/api/v1/projects/{w.completed}",
        json={"warranty_years": years},
        headers=w.headers["owner"],
    )
    return _ok(reply)


# --- the end date ------------------------------------------------------------------------------


def test_acceptance_sets_the_end_from_the_record_date_and_a_change_of_years_moves_it(
    app, client, world
):
    w = world
    before = _ok(client.get(f"/api/v1/projects/{w.completed}", headers=w.headers["owner"]))
    assert before["warranty_years"] == 2
    assert before["warranty_ends_on"] is None and before["in_warranty"] is False

    # Accepted on a Feb 29: two years on, the warranty ends on Feb 28.
    accepted = _accept(client, w, held_on=date(2024, 2, 29))
    assert accepted["status"] == "accepted"
    assert accepted["warranty_ends_on"] == "2026-02-28"
    with app.app_context():
        today = local_today()
    assert accepted["in_warranty"] is (today <= date(2026, 2, 28))

    # A change of years counts from the same acceptance date (Feb 29 again in a leap year).
    moved = _patch_years(client, w, 4)
    assert moved["warranty_years"] == 4 and moved["warranty_ends_on"] == "2028-02-29"
    assert moved["in_warranty"] is (today <= date(2028, 2, 29))
    assert _patch_years(client, w, 1)["warranty_ends_on"] == "2025-02-28"
    assert _patch_years(client, w, 0)["warranty_ends_on"] == "2024-02-29"
    assert _patch_years(client, w, 10)["warranty_ends_on"] == "2034-02-28"
    # The project list shows it too.
    listed = _ok(client.get("/api/v1/projects?status=accepted", headers=w.headers["owner"]))
    row = next(p for p in listed["items"] if p["id"] == w.completed)
    assert row["warranty_ends_on"] == "2034-02-28" and row["warranty_years"] == 10


def test_years_changed_before_acceptance_set_no_end_until_accepted(app, client, world):
    w = world
    patched = _patch_years(client, w, 5)
    assert patched["warranty_years"] == 5 and patched["warranty_ends_on"] is None
    held_on = date.today() - timedelta(days=1)
    accepted = _accept(client, w, held_on=held_on)
    assert accepted["warranty_ends_on"] == held_on.replace(year=held_on.year + 5).isoformat()
    assert accepted["in_warranty"] is True


def test_a_new_project_takes_warranty_years_or_the_default(app, client, world):
    w = world
    body = {"name": "甲小区四期", "estate_ids": [w.estate], "category": "basic", "plan_year": 2027}
    officer = w.headers["county_officer"]
    default = _ok(client.post("/api/v1/projects", json=body, headers=officer), 201)
    assert default["warranty_years"] == 2 and default["warranty_ends_on"] is None
    assert default["in_warranty"] is False
    five = client.post(
        "/api/v1/projects",
        json={**body, "name": "甲小区五期", "warranty_years": 5},
        headers=officer,
    )
    assert _ok(five, 201)["warranty_years"] == 5
    zero = client.post(
        "/api/v1/projects",
        json={**body, "name": "甲小区六期", "warranty_years": 0},
        headers=officer,
    )
    assert _ok(zero, 201)["warranty_years"] == 0


@pytest.mark.parametrize("years", [-1, 11, "2", None, 1e9, 2.5, True, 10**30, [2], {"y": 2}])
def test_bad_warranty_years_are_refused_and_nothing_is_written(app, client, world, years):
    w = world
    officer = w.headers["county_officer"]
    body = {"name": "甲小区四期", "estate_ids": [w.estate], "category": "basic", "plan_year": 2027}
    before = snapshot(app)
    created = client.post(
        "/api/v1/projects", json={**body, "warranty_years": years}, headers=officer
    )
    error = refused(app, before, created, 422)
    assert "warranty_years" in str(error["details"])
    patched = client.patch(
        f"/api/v1/projects/{w.accepted}", json={"warranty_years": years}, headers=officer
    )
    refused(app, before, patched, 422)


# --- warranty tickets ----------------------------------------------------------------------------


def test_before_acceptance_a_problem_is_a_construction_ticket(app, client, world):
    w = world
    reply = _ok(_report(client, w, w.completed), 201)
    assert reply["phase"] == "construction" and reply["phase_label"] == "施工期间"
    existing = _ok(client.get(f"/api/v1/tickets/{w.ticket_open}", headers=w.headers["owner"]))
    assert existing["phase"] == "construction"


def test_in_warranty_a_problem_is_a_warranty_ticket_answered_like_construction_ones(
    app, client, world
):
    w = world
    owner, member = w.headers["owner"], w.headers["resident_member"]
    early = _ok(_report(client, w, w.completed, text="施工期间的问题"), 201)
    _accept(client, w)
    ticket = _ok(_report(client, w, w.completed), 201)
    assert ticket["phase"] == "warranty" and ticket["phase_label"] == "保修期内"
    assert ticket["status"] == "open" and ticket["source"] == "resident"
    assert [e["kind"] for e in ticket["events"]] == ["opened"]
    with app.app_context():
        row = db.session.get(Ticket, ticket["id"])
        # The same 3 working days' clock as during the works.
        assert row.due_at == add_working_days(row.opened_at)

    # The owner answers it, late once the clock has run out: the flag as for construction.
    set_columns(app, Ticket, ticket["id"], due_at=row.opened_at - timedelta(minutes=1))
    listed = _ok(client.get(f"/api/v1/projects/{w.completed}/tickets?overdue=true", headers=owner))
    assert [t["id"] for t in listed["items"]] == [ticket["id"]]
    answered = _ok(
        client.post(
            f"/api/v1/tickets/{ticket['id']}/answer", json={"answer": "已修补"}, headers=owner
        )
    )
    assert answered["status"] == "answered" and answered["events"][-1]["late"] is True
    # The reporter reopens it (another 3 working days) and confirms the second answer.
    reopened = _ok(
        client.post(
            f"/api/v1/tickets/{ticket['id']}/reopen", json={"reason": "还漏"}, headers=member
        )
    )
    assert reopened["status"] == "reopened" and reopened["reopen_count"] == 1
    again = _ok(
        client.post(
            f"/api/v1/tickets/{ticket['id']}/answer", json={"answer": "重做"}, headers=owner
        )
    )
    assert again["events"][-1]["late"] is False
    resolved = _ok(client.post(f"/api/v1/tickets/{ticket['id']}/confirm", json={}, headers=member))
    assert resolved["status"] == "resolved" and resolved["phase"] == "warranty"

    # The list filters by phase.
    path = f"/api/v1/projects/{w.completed}/tickets"
    warranty = _ok(client.get(f"{path}?phase=warranty", headers=owner))["items"]
    construction = _ok(client.get(f"{path}?phase=construction", headers=owner))["items"]
    assert [t["id"] for t in warranty] == [ticket["id"]]
    assert [t["id"] for t in construction] == [early["id"]]
    assert (
        _ok(client.get(f"{path}?phase=warranty", headers=member))["items"][0]["id"] == ticket["id"]
    )
    bad = client.get(f"{path}?phase=after", headers=owner)
    assert_error_shape(bad, 422)


def test_the_warranty_end_day_itself_still_counts_and_the_day_after_is_refused(app, client, world):
    w = world
    with app.app_context():
        today = local_today()
    set_columns(app, Project, w.accepted, warranty_ends_on=today)
    on_the_day = _ok(_report(client, w, w.accepted), 201)
    assert on_the_day["phase"] == "warranty"

    set_columns(app, Project, w.accepted, warranty_ends_on=today - timedelta(days=1))
    before = snapshot(app)
    late = _report(client, w, w.accepted)
    error = refused(app, before, late, 409, "warranty_expired")
    ended = today - timedelta(days=1)
    assert f"{ended.year}年{ended.month}月{ended.day}日" in error["message"]
    assert error["details"] == {"warranty_ends_on": ended.isoformat()}
    # The tickets already open are still answered after the end.
    answered = client.post(
        f"/api/v1/tickets/{on_the_day['id']}/answer",
        json={"answer": "保修期内已受理，已修复"},
        headers=w.headers["owner"],
    )
    assert _ok(answered)["status"] == "answered"


def test_an_expired_warranty_from_the_acceptance_date_refuses_reports(app, client, world):
    w = world
    _accept(client, w, held_on=date(2020, 2, 29))  # two years: ended on 2022-02-28
    before = snapshot(app)
    error = refused(app, before, _report(client, w, w.completed), 409, "warranty_expired")
    assert "2022年2月28日" in error["message"]


def test_who_may_report_in_warranty(app, client, world):
    """As for construction tickets: verified residents of a covered estate; to residents
    outside it the project does not exist; staff and the anonymous are refused."""
    w = world
    before = snapshot(app)
    for actor in RESIDENTS_OUT:
        refused(app, before, _report(client, w, w.accepted, actor), 404)
    for actor in STAFF:
        refused(app, before, _report(client, w, w.accepted, actor), 403)
    anonymous = client.post(f"/api/v1/projects/{w.accepted}/problems", json={"description": "x"})
    refused(app, before, anonymous, 401)
    for actor in ("resident_member", "supervisor", "supervisor_pending"):
        assert _ok(_report(client, w, w.accepted, actor), 201)["phase"] == "warranty"


def test_inspections_stay_construction_only(app, client, world):
    w = world
    with app.app_context():
        # The construction project's supervisor, as if the signup were the accepted project's.
        signup = db.session.get(SupervisorSignup, w.signup_accepted)
        signup.project_id = w.accepted
        db.session.commit()
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/projects/{w.accepted}/inspections",
        json={"aspects": ["safety"], "findings": "路面开裂", "severity": "minor"},
        headers=w.headers["supervisor"],
    )
    refused(app, before, reply, 409, "project_not_under_construction")


# --- the overview ---------------------------------------------------------------------------------


def _warranty_tickets(app, client, w) -> list[int]:
    """On the accepted project: three warranty problems, left open, answered and resolved."""
    owner, member = w.headers["owner"], w.headers["resident_member"]
    ids = [_ok(_report(client, w, w.accepted, text=f"问题{n}"), 201)["id"] for n in range(3)]
    for ticket_id in ids[1:]:
        _ok(
            client.post(
                f"/api/v1/tickets/{ticket_id}/answer", json={"answer": "已修"}, headers=owner
            )
        )
    _ok(client.post(f"/api/v1/tickets/{ids[2]}/confirm", json={}, headers=member))
    return ids


def test_the_overview_counts_warranty_tickets_not_resolved(app, client, world):
    w = world
    _warranty_tickets(app, client, w)
    # A construction ticket open on the construction project is not a warranty one.
    _ok(_report(client, w, w.construction), 201)
    with app.app_context():
        assert (
            db.session.scalar(
                select(db.func.count()).select_from(Ticket).where(Ticket.phase == "warranty")
            )
            == 3
        )
    county = _ok(
        client.get(f"/api/v1/counties/{w.county}/overview", headers=w.headers["county_officer"])
    )
    by_project = {p["id"]: p["open_warranty_tickets"] for p in county["projects"]}
    assert by_project[w.accepted] == 2  # open and answered; the resolved one is done
    assert by_project[w.construction] == 0 and by_project[w.completed] == 0
    assert county["open_warranty_tickets"] == 2
    shown = next(p for p in county["projects"] if p["id"] == w.accepted)
    assert shown["warranty_ends_on"] is None  # the world's project predates the effect

    prefecture = _ok(client.get("/api/v1/overview", headers=w.headers["prefecture"]))
    row = next(c for c in prefecture["items"] if c["county_id"] == w.county)
    assert row["open_warranty_tickets"] == 2
    others = [c["open_warranty_tickets"] for c in prefecture["items"] if c["county_id"] != w.county]
    assert others and set(others) == {0}
    # Of another plan year: none.
    other_year = _ok(
        client.get(
            f"/api/v1/counties/{w.county}/overview?plan_year=2030",
            headers=w.headers["county_officer"],
        )
    )
    assert other_year["open_warranty_tickets"] == 0 and other_year["projects"] == []
    year = _ok(client.get("/api/v1/overview?plan_year=2030", headers=w.headers["prefecture"]))
    assert {c["open_warranty_tickets"] for c in year["items"]} == {0}


def test_a_reopened_warranty_ticket_counts_again(app, client, world):
    w = world
    ids = _warranty_tickets(app, client, w)
    member = w.headers["resident_member"]
    _ok(client.post(f"/api/v1/tickets/{ids[1]}/reopen", json={"reason": "没修好"}, headers=member))
    county = _ok(
        client.get(f"/api/v1/counties/{w.county}/overview", headers=w.headers["prefecture"])
    )
    assert county["open_warranty_tickets"] == 2
    with app.app_context():
        kinds = db.session.scalars(
            select(TicketEvent.kind).where(TicketEvent.ticket_id == ids[1]).order_by(TicketEvent.id)
        ).all()
    assert kinds == ["opened", "answered", "reopened"]
