"""How many SQL statements the home screen (`GET /me/home`) costs, and that the number does not
grow with what it shows (issue 12: one request, a bounded number of statements). Counted as
tests/shell/test_statement_counts.py counts (tests/support/statements.py).

The statements, for a resident with a verified household:
1. the caller;
2. their verified and pending claims with the households' estates and addresses;
3. the projects of their verified estates, each with its next milestone;
4. the open consultations of those projects, with their eligibility and whether their
   households voted;
5. how many of their notices they have not read;
6. their supervisor sign-ups with the projects;
7. their open tickets with the projects' names;
8. the adopted contribution schemes their households have not answered or paid in full.
Without a verified household there are no estates, so 3, 4 and 8 are not asked.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.core import db, utcnow
from devtools import factory
from feedback.models import SupervisorSignup, Ticket
from feedback.models.tickets import add_working_days
from notices import queries as notice_queries
from notices.service import publishing
from participation.models import Resident
from tests.support.statements import count_statements
from voting.service import consultations as consultation_service

HOME = "/api/v1/me/home"
STATEMENTS = 8
WITHOUT_ESTATE = 5


def _scene(app, name: str, n: int) -> dict:
    """A resident verified in `n` households of `n` estates (and pending in one more), each
    estate with `n` projects, each project with its milestones, an open consultation, the
    resident's sign-up and ticket; `n` notices to each estate. Their request headers, and what
    the reply should count."""
    now = utcnow()
    with app.app_context():
        county = factory.county(f"{name}县")
        community = factory.community(county, f"{name}社区")
        clerk = factory.staff(f"{name}-clerk", ("committee", community.id))
        resident = factory.resident(f"openid-{name}", name)
        estates = []
        for i in range(n + 1):
            estate = factory.estate(community, f"{name}小区{i}")
            household = factory.household(estate, f"{i + 1}01")
            factory.claim(resident, household, status="verified" if i < n else "pending")
            estates.append((estate, household))
        for estate, household in estates:
            for j in range(n):
                project = factory.project(county, [estate], f"{estate.name}项目{j}")
                factory.milestones(project)
                body = {"kind": "needs_survey", "closes_at": now + timedelta(days=10 + j)}
                consultation_service.open_consultation(
                    consultation_service.create_consultation(project, clerk, body)
                )
                db.session.add(
                    SupervisorSignup(
                        project_id=project.id,
                        resident_id=resident.id,
                        household_id=household.id,
                        status="pending",
                    )
                )
                db.session.add(
                    Ticket(
                        project_id=project.id,
                        source="resident",
                        reporter_id=resident.id,
                        aspects=["other"],
                        description="问题",
                        severity="minor",
                        status="open",
                        due_at=add_working_days(now),
                        opened_at=now,
                    )
                )
            target = notice_queries.resolve_target({"estate_id": estate.id})
            for k in range(n):
                args = {"category": "general", "title": f"通知{k}", "body": "内容"}
                publishing.create_notice(clerk, target, args)
        db.session.commit()
        with app.test_request_context():
            headers = factory.headers(db.session.get(Resident, resident.id))
    return {
        "headers": headers,
        "estates": n,
        "items": n * n,  # projects, consultations, sign-ups, tickets, unread notices
    }


def _count(app, client, headers):
    with count_statements(app) as statements:
        reply = client.get(HOME, headers=headers)
    assert reply.status_code == 200, reply.json
    return reply.json, statements


def _signups_and_tickets_everywhere(home) -> int:
    return len(home["supervision"]) + len(home["tickets"])


@pytest.mark.parametrize("n", [1, 3])
def test_the_home_screen_costs_its_pinned_statements(app, client, n):
    scene = _scene(app, f"s{n}", n)
    home, statements = _count(app, client, scene["headers"])
    assert statements.count == STATEMENTS, str(statements)
    # What it showed grew with n (the statements did not).
    assert len(home["households"]) == n + 1
    assert len(home["estates"]) == scene["estates"]
    assert sum(len(e["projects"]) for e in home["estates"]) == scene["items"]
    assert all(p["next_milestone"] for e in home["estates"] for p in e["projects"])
    assert len(home["consultations"]) == scene["items"]
    assert home["unread_notices"] == scene["items"]
    # The pending estate's projects are not shown, but the sign-ups and tickets are the
    # resident's own wherever they are.
    assert _signups_and_tickets_everywhere(home) == 2 * (scene["items"] + n)


def test_the_count_is_the_same_at_one_and_at_four_of_everything(app, client):
    small, large = _scene(app, "small", 1), _scene(app, "large", 4)
    _, few = _count(app, client, small["headers"])
    _, many = _count(app, client, large["headers"])
    assert few.count == many.count == STATEMENTS, f"{few}\n{many}"


def test_the_caller_is_read_once_first(app, client):
    scene = _scene(app, "once", 2)
    _, statements = _count(app, client, scene["headers"])
    assert "FROM residents" in statements.sql[0], str(statements)
    assert sum("FROM residents" in s for s in statements.sql) == 1, str(statements)


def test_without_a_verified_household_two_statements_are_not_asked(app, client, make):
    stranger = make.resident()
    _, statements = _count(app, client, make.headers(stranger))
    assert statements.count == WITHOUT_ESTATE, str(statements)
