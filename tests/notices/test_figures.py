"""The console's figures of one notice (issue 14, page 5): the WeChat messages by status and
the unsent ones by reason (`/delivery-report`), the read share per building (`/buildings`) and
the households not reached yet (`/unreached`, names masked), as residents read."""

from __future__ import annotations

import pytest

from api.core import db
from devtools import factory
from participation.models import Estate
from tests.support.notices_helpers import build_town, building_id, consent, post_notice
from tests.support.statements import count_statements
from tests.support.voting_helpers import run_jobs

NOTICES = "/api/v1/notices"


@pytest.fixture(scope="module")
def town(app, module_make):
    """The town, built once for the module, with a project reaching both communities; each
    test rolls back to it."""
    town = build_town(app, module_make)
    with app.app_context():
        estates = [db.session.get(Estate, e.id) for e in (town.estate, town.estate_c)]
        project = factory.project(town.county, estates, "跨社区项目")
        db.session.commit()
        town.project_ab_id = project.id
    return town


def _get(client, make, who, path, **query) -> dict:
    reply = client.get(f"{NOTICES}{path}", query_string=query, headers=make.headers(who))
    assert reply.status_code == 200, reply.json
    return reply.json


def _read(client, make, resident, notice_id):
    reply = client.post(f"{NOTICES}/{notice_id}/read", headers=make.headers(resident))
    assert reply.status_code == 200, reply.json


def test_figures_of_a_published_notice_move_as_residents_read(app, client, make, town, wechat):
    """Estate 1栋 (a1, a2) and 2栋 (a3, a4 without a member); r_a1 has a consent, r_a2 is
    refused by WeChat (43101), the others have none."""
    r, clerk = town.residents, town.staff["clerk"]
    consent(app, r["a1"])
    consent(app, r["a2"])
    wechat.errors_for[r["a2"].openid] = [43101]
    reply = post_notice(client, make, clerk, estate_id=town.estate.id, title="停水")
    assert reply.status_code == 201, reply.json
    notice_id = reply.json["id"]
    run_jobs(app)

    report = _get(client, make, clerk, f"/{notice_id}/delivery-report")
    # verified residents: a1, shared (a1 and a3), a2, a2b, a3; r_pending is not verified
    assert report["deliveries"]["total"] == 5
    assert report["deliveries"]["sent"] == 1
    assert report["deliveries"]["no_consent"] == 3
    assert report["deliveries"]["failed"] == 1
    reasons = {(x["status"], x["reason"]): x for x in report["reasons"]}
    assert set(reasons) == {("no_consent", "no_consent"), ("failed", "refused")}
    assert reasons[("no_consent", "no_consent")]["count"] == 3
    assert reasons[("failed", "refused")]["errcode"] == 43101
    assert reasons[("failed", "refused")]["status_label"] == "发送失败"
    assert "43101" in reasons[("failed", "refused")]["reason_label"]
    assert report["households_targeted"] == 4
    assert report["households_without_member"] == 1  # a4

    b1, b2 = (building_id(town, town.estate, n) for n in ("1栋", "2栋"))
    shares = _get(client, make, clerk, f"/{notice_id}/buildings")
    assert shares["total"] == 2 and shares["read_share"] == 0
    assert [(b["building_id"], b["households_targeted"]) for b in shares["items"]] == [
        (b1, 2),
        (b2, 2),
    ]
    unreached = _get(client, make, clerk, f"/{notice_id}/unreached")
    assert unreached["total"] == unreached["not_reached"] == 4
    first = unreached["items"][0]
    assert set(first) == {
        "household_id",
        "estate",
        "building_id",
        "building",
        "unit",
        "room",
        "owner_name",
        "verified_members",
    }
    assert first["owner_name"].endswith("*") or "*" in first["owner_name"]
    members = {x["household_id"]: x["verified_members"] for x in unreached["items"]}
    assert members[town.households["a4"].id] == 0
    assert members[town.households["a2"].id] == 2  # r_pending not counted

    # The shared member reads: households a1 and a3 are reached; a second read counts once.
    _read(client, make, r["shared"], notice_id)
    _read(client, make, r["shared"], notice_id)
    shares = _get(client, make, clerk, f"/{notice_id}/buildings")
    assert shares["households_read"] == 2 and shares["read_share"] == 0.5
    assert [b["read_share"] for b in shares["items"]] == [0.5, 0.5]
    unreached = _get(client, make, clerk, f"/{notice_id}/unreached")
    left = [x["household_id"] for x in unreached["items"]]
    assert left == [town.households["a2"].id, town.households["a4"].id]
    assert unreached["not_reached"] == 2
    only = _get(client, make, clerk, f"/{notice_id}/unreached", building_id=b2)
    assert [x["household_id"] for x in only["items"]] == [town.households["a4"].id]
    assert only["total"] == 1 and only["not_reached"] == 2
    # Paged as every list is.
    page = _get(client, make, clerk, f"/{notice_id}/unreached", per_page=1, page=2)
    assert [x["household_id"] for x in page["items"]] == [town.households["a4"].id]
    assert (page["page"], page["per_page"], page["total"]) == (2, 1, 2)
    past = _get(client, make, clerk, f"/{notice_id}/buildings", page=9)
    assert past["items"] == [] and past["total"] == 2

    # Withdrawn: what was not sent is cancelled, the reason says why.
    reply = client.post(
        f"{NOTICES}/{notice_id}/withdraw", json={"reason": "时间有误"}, headers=make.headers(clerk)
    )
    assert reply.status_code == 200, reply.json
    report = _get(client, make, clerk, f"/{notice_id}/delivery-report")
    assert report["status"] == "withdrawn" and report["status_label"] == "已撤回"


def test_a_draft_has_no_figures_yet(client, make, town):
    clerk = town.staff["clerk"]
    draft = post_notice(client, make, clerk, estate_id=town.estate.id, draft=True).json["id"]
    report = _get(client, make, clerk, f"/{draft}/delivery-report")
    assert report["deliveries"]["total"] == 0 and report["reasons"] == []
    assert report["households_targeted"] == 0
    shares = _get(client, make, clerk, f"/{draft}/buildings")
    assert shares["items"] == [] and shares["read_share"] is None
    unreached = _get(client, make, clerk, f"/{draft}/unreached")
    assert unreached["items"] == [] and unreached["total"] == 0


def test_the_names_stay_out_of_the_logs(client, make, town, caplog):
    clerk = town.staff["clerk"]
    notice_id = post_notice(client, make, clerk, estate_id=town.estate.id).json["id"]
    with caplog.at_level("DEBUG"):
        unreached = _get(client, make, clerk, f"/{notice_id}/unreached")
    for row in unreached["items"]:
        assert "*" in row["owner_name"]
    for household in town.households.values():
        assert household.owner_name not in caplog.text


def test_staff_reading_a_notice_are_told_whether_they_may_manage_it(client, make, town):
    county = town.staff["county"]
    notice_id = post_notice(client, make, county, project_id=town.project_ab_id, draft=True).json[
        "id"
    ]
    for who, may in (("county", True), ("prefecture", True), ("clerk", False)):
        assert _get(client, make, town.staff[who], f"/{notice_id}")["may_manage"] is may, who


def test_the_figures_cost_the_same_statements_however_many_households(app, client, make, town):
    """Every figure is an SQL aggregate or one page: a notice to an estate of 2 buildings (4
    households) costs what a notice to an estate of 1 building (1 household) does."""
    clerk = town.staff["clerk"]
    small = post_notice(client, make, clerk, estate_id=town.estate_b.id).json["id"]
    large = post_notice(client, make, clerk, estate_id=town.estate.id).json["id"]
    headers = make.headers(clerk)
    costs = {}
    for notice_id in (small, large):
        for tail in ("/delivery-report", "/buildings", "/unreached"):
            client.get(f"{NOTICES}/{notice_id}{tail}", headers=headers)  # warm
            with count_statements(app) as statements:
                reply = client.get(f"{NOTICES}/{notice_id}{tail}", headers=headers)
            assert reply.status_code == 200, reply.json
            costs.setdefault(tail, []).append(statements.count)
    for tail, (one, three) in costs.items():
        assert one == three, (tail, costs)
