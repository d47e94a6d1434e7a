"""Notices: who they reach, what residents list and read, read receipts, subscriptions,
drafts, scheduling and withdrawal. Delivery outcomes are in test_delivery.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from api.core import db, utcnow
from notices import jobs
from notices.models import Notice
from tests.support.notices_helpers import (
    TEMPLATE,
    build_town,
    building_id,
    deliveries,
    post_notice,
    table_counts,
    targeted_households,
    unspent,
)
from tests.support.voting_helpers import run_jobs


@pytest.fixture(scope="module")
def town(app, module_make):
    """The town, built once for the module; each test rolls back to it."""
    return build_town(app, module_make)


def _ids(*objects) -> set[int]:
    return {o.id for o in objects}


# --- targeting --------------------------------------------------------------------------------


def test_an_estate_notice_reaches_exactly_the_verified_members_each_once(client, make, town):
    reply = post_notice(client, make, town.staff["clerk"], estate_id=town.estate.id)

    assert reply.status_code == 201, reply.json
    assert reply.json["status"] == "published"
    h, r = town.households, town.residents
    assert targeted_households(client.application, reply.json["id"]) == _ids(
        h["a1"], h["a2"], h["a3"], h["a4"]
    )
    sent_to = deliveries(client.application, reply.json["id"])
    # r_shared is a member of a1 and a3: one delivery. r_pending's claim is not verified.
    assert set(sent_to) == _ids(r["a1"], r["a2"], r["a2b"], r["a3"], r["shared"])


@pytest.mark.parametrize(
    ("target", "households", "residents"),
    [
        ("buildings", ("a3", "a4"), ("a3", "shared")),
        ("community", ("a1", "a2", "a3", "a4", "b1"), ("a1", "a2", "a2b", "a3", "shared", "b1")),
        ("project", ("a1", "a2", "a3", "a4", "b1"), ("a1", "a2", "a2b", "a3", "shared", "b1")),
        ("project_c", ("c1",), ("c1",)),
    ],
)
def test_each_kind_of_target_reaches_its_households(
    client, make, town, target, households, residents
):
    body = {
        "buildings": {
            "estate_id": town.estate.id,
            "building_ids": [building_id(town, town.estate, "2栋")],
        },
        "community": {"community_id": town.community.id},
        "project": {"project_id": town.project.id},
        "project_c": {"project_id": town.project_c.id},
    }[target]
    reply = post_notice(client, make, town.staff["county"], **body)

    assert reply.status_code == 201, reply.json
    notice_id = reply.json["id"]
    assert targeted_households(client.application, notice_id) == {
        town.households[k].id for k in households
    }
    assert set(deliveries(client.application, notice_id)) == {
        town.residents[k].id for k in residents
    }


def test_the_households_reached_are_frozen_when_published(app, client, make, town):
    reply = post_notice(client, make, town.staff["clerk"], estate_id=town.estate.id)
    newcomer_household = make.household(town.estate, building="1栋")
    newcomer = make.member(newcomer_household)

    assert newcomer_household.id not in targeted_households(app, reply.json["id"])
    listed = client.get("/api/v1/notices", headers=make.headers(newcomer))
    assert listed.json["total"] == 0
    # A resident verified later in a household that was reached does see it.
    late = make.member(town.households["a4"])
    listed = client.get("/api/v1/notices", headers=make.headers(late))
    assert [n["id"] for n in listed.json["items"]] == [reply.json["id"]]


def test_a_notice_to_a_place_without_a_roster_is_refused_and_not_written(app, client, make):
    community = make.community()
    empty = make.estate(community)
    clerk = make.staff("committee", community)
    before = table_counts(app)

    reply = post_notice(client, make, clerk, estate_id=empty.id)

    assert reply.status_code == 409
    assert reply.json["error"]["code"] == "audience_empty"
    assert table_counts(app) == before


# --- what residents see -----------------------------------------------------------------------


def test_residents_list_their_notices_pinned_first_then_newest(app, client, make, town):
    clerk, r = town.staff["clerk"], town.residents
    first = post_notice(client, make, clerk, estate_id=town.estate.id, title="第一条").json
    pinned = post_notice(
        client, make, clerk, estate_id=town.estate.id, title="置顶", pinned=True
    ).json
    newest = post_notice(client, make, clerk, community_id=town.community.id, title="最新").json
    other = post_notice(client, make, town.staff["other_clerk"], estate_id=town.estate_c.id).json
    expiring = post_notice(
        client,
        make,
        clerk,
        estate_id=town.estate.id,
        expires_at=(utcnow() + timedelta(hours=1)).isoformat(),
    ).json
    draft = post_notice(client, make, clerk, estate_id=town.estate.id, draft=True).json
    with app.app_context():
        db.session.execute(
            update(Notice)
            .where(Notice.id == expiring["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    listed = client.get("/api/v1/notices", headers=make.headers(r["a1"]))

    assert listed.status_code == 200
    assert [n["id"] for n in listed.json["items"]] == [pinned["id"], newest["id"], first["id"]]
    assert listed.json["total"] == 3
    assert {n["read"] for n in listed.json["items"]} == {False}
    ids = {n["id"] for n in listed.json["items"]}
    assert other["id"] not in ids and draft["id"] not in ids and expiring["id"] not in ids
    # b1 is in the community but not the estate: only the community notice
    listed_b = client.get("/api/v1/notices", headers=make.headers(r["b1"]))
    assert [n["id"] for n in listed_b.json["items"]] == [newest["id"]]
    # a resident whose claim is pending, or who has none, sees nothing
    for who in ("pending", "outsider"):
        listed = client.get("/api/v1/notices", headers=make.headers(r[who]))
        assert listed.json["total"] == 0
        one = client.get(f"/api/v1/notices/{first['id']}", headers=make.headers(r[who]))
        assert one.status_code == 404
        assert one.json["error"]["code"] == "notice_not_found"


def test_reading_a_notice_marks_it_read_once_and_the_read_share_rises(app, client, make, town):
    clerk, r = town.staff["clerk"], town.residents
    notice = post_notice(client, make, clerk, estate_id=town.estate.id).json
    receipts_url = f"/api/v1/notices/{notice['id']}/receipts"

    before = client.get(receipts_url, headers=make.headers(clerk)).json
    assert (before["households_targeted"], before["households_read"]) == (4, 0)
    assert before["read_share"] == 0

    first = client.post(f"/api/v1/notices/{notice['id']}/read", headers=make.headers(r["a2b"]))
    again = client.post(f"/api/v1/notices/{notice['id']}/read", headers=make.headers(r["a2b"]))
    assert first.status_code == again.status_code == 200
    assert first.json["read_at"] == again.json["read_at"]
    assert table_counts(app)["notice_reads"] == 1
    listed = client.get("/api/v1/notices", headers=make.headers(r["a2"])).json["items"]
    assert listed[0]["read"] is False  # a2's own flag; a2b read it for the household
    assert client.get("/api/v1/notices", headers=make.headers(r["a2b"])).json["items"][0]["read"]

    client.post(f"/api/v1/notices/{notice['id']}/read", headers=make.headers(r["shared"]))
    after = client.get(receipts_url, headers=make.headers(clerk)).json

    # a2 (by a2b), a1 and a3 (both by shared); a4 has no member and is never reached
    assert (after["households_targeted"], after["households_read"]) == (4, 3)
    assert after["read_share"] == 0.75
    assert after["residents_read"] == 2
    buildings = [
        (b["building"], b["households_read"], b["households_targeted"])
        for b in after["lowest_buildings"]
    ]
    assert buildings == [("2栋", 1, 2), ("1栋", 2, 2)]  # lowest share first
    assert after["deliveries"]["total"] == 5


# --- subscriptions ----------------------------------------------------------------------------


def test_subscriptions_record_each_acceptance_and_nothing_else(app, client, make, town):
    resident = town.residents["a1"]
    headers = make.headers(resident)
    body = {"results": {TEMPLATE: "accept", "errMsg": "requestSubscribeMessage:ok"}}

    first = client.post("/api/v1/me/subscriptions", json=body, headers=headers)
    second = client.post("/api/v1/me/subscriptions", json=body, headers=headers)
    refused = client.post(
        "/api/v1/me/subscriptions", json={"results": {TEMPLATE: "reject"}}, headers=headers
    )

    assert first.status_code == second.status_code == refused.status_code == 200
    assert first.json["recorded"] == {TEMPLATE: 1}
    assert refused.json["recorded"] == {}
    assert unspent(app, resident) == 2
    mine = client.get("/api/v1/me/subscriptions", headers=headers).json
    assert mine["templates"][0]["template_id"] == TEMPLATE
    assert mine["templates"][0]["unspent"] == 2
    assert "general" in mine["templates"][0]["categories"]


# --- drafts, scheduling, editing, withdrawal --------------------------------------------------


def test_a_draft_is_published_later_and_edited_only_before(app, client, make, town):
    clerk = town.staff["clerk"]
    draft = post_notice(client, make, clerk, estate_id=town.estate.id, draft=True).json
    assert draft["status"] == "draft" and draft["published_at"] is None
    assert deliveries(app, draft["id"]) == {}

    edited = client.patch(
        f"/api/v1/notices/{draft['id']}",
        json={"title": "改后的标题", "category": "utility_cut"},
        headers=make.headers(clerk),
    )
    assert edited.status_code == 200
    assert (edited.json["title"], edited.json["category_label"]) == ("改后的标题", "停水停电")

    published = client.post(f"/api/v1/notices/{draft['id']}/publish", headers=make.headers(clerk))
    assert published.status_code == 200
    assert published.json["status"] == "published"
    assert len(deliveries(app, draft["id"])) == 5

    again = client.post(f"/api/v1/notices/{draft['id']}/publish", headers=make.headers(clerk))
    assert again.status_code == 409
    assert again.json["error"]["code"] == "notice_already_published"
    changed = client.patch(
        f"/api/v1/notices/{draft['id']}", json={"body": "新内容"}, headers=make.headers(clerk)
    )
    assert changed.status_code == 409
    assert changed.json["error"]["code"] == "notice_already_published"
    pinned = client.patch(
        f"/api/v1/notices/{draft['id']}", json={"pinned": True}, headers=make.headers(clerk)
    )
    assert pinned.status_code == 200 and pinned.json["pinned"] is True


def test_a_scheduled_notice_is_published_when_its_time_has_come(app, client, make, town):
    clerk = town.staff["clerk"]
    at = utcnow() + timedelta(minutes=5)
    reply = post_notice(client, make, clerk, estate_id=town.estate.id, publish_at=at.isoformat())
    assert reply.status_code == 201
    assert reply.json["status"] == "scheduled"
    notice_id = reply.json["id"]
    assert targeted_households(app, notice_id) == set()
    resident = town.residents["a1"]
    assert client.get("/api/v1/notices", headers=make.headers(resident)).json["total"] == 0

    with app.app_context():
        assert jobs.publish_due(at - timedelta(seconds=1)) == []
        assert jobs.publish_scheduled(notice_id) is False  # too early: nothing happens
        assert db.session.get(Notice, notice_id).status == "scheduled"
        assert jobs.publish_due(at) == [notice_id]
        assert jobs.publish_due(at) == []  # once
    run_jobs(app)

    listed = client.get("/api/v1/notices", headers=make.headers(resident))
    assert [n["id"] for n in listed.json["items"]] == [notice_id]
    assert len(deliveries(app, notice_id)) == 5


def test_a_draft_can_be_scheduled_through_publish(app, client, make, town):
    clerk = town.staff["clerk"]
    draft = post_notice(client, make, clerk, estate_id=town.estate.id, draft=True).json
    at = utcnow() + timedelta(hours=2)

    reply = client.post(
        f"/api/v1/notices/{draft['id']}/publish",
        json={"publish_at": at.isoformat()},
        headers=make.headers(clerk),
    )

    assert reply.status_code == 200
    assert reply.json["status"] == "scheduled"
    with app.app_context():
        assert jobs.publish_due(at + timedelta(seconds=1)) == [draft["id"]]


def test_withdrawing_keeps_the_record_and_tells_residents_why(app, client, make, town, wechat):
    clerk, resident = town.staff["clerk"], town.residents["a1"]
    notice = post_notice(client, make, clerk, estate_id=town.estate.id).json
    run_jobs(app)

    reply = client.post(
        f"/api/v1/notices/{notice['id']}/withdraw",
        json={"reason": "时间写错了，另行通知"},
        headers=make.headers(clerk),
    )

    assert reply.status_code == 200
    assert reply.json["status"] == "withdrawn"
    assert client.get("/api/v1/notices", headers=make.headers(resident)).json["total"] == 0
    seen = client.get(f"/api/v1/notices/{notice['id']}", headers=make.headers(resident)).json
    assert seen["status"] == "withdrawn"
    assert seen["withdraw_reason"] == "时间写错了，另行通知"
    assert seen["body"] is None
    staff_view = client.get(f"/api/v1/notices/{notice['id']}", headers=make.headers(clerk)).json
    assert staff_view["body"] == notice["body"]  # still in the record
    read = client.post(f"/api/v1/notices/{notice['id']}/read", headers=make.headers(resident))
    assert read.status_code == 409
    again = client.post(
        f"/api/v1/notices/{notice['id']}/withdraw",
        json={"reason": "再撤"},
        headers=make.headers(clerk),
    )
    assert again.status_code == 409
    assert again.json["error"]["code"] == "notice_withdrawn"


def test_staff_list_the_notices_in_their_scope(app, client, make, town):
    s = town.staff
    mine = post_notice(client, make, s["clerk"], estate_id=town.estate.id).json
    project = post_notice(client, make, s["owner"], project_id=town.project.id).json
    theirs = post_notice(client, make, s["other_clerk"], estate_id=town.estate_c.id).json

    def listed(who, **query):
        reply = client.get("/api/v1/notices", query_string=query, headers=make.headers(s[who]))
        assert reply.status_code == 200
        return [n["id"] for n in reply.json["items"]]

    assert listed("clerk") == [project["id"], mine["id"]]
    assert listed("owner") == [project["id"], mine["id"]]  # mine is on the project's estate
    assert listed("other_clerk") == [theirs["id"]]
    assert listed("other_owner") == [theirs["id"]]  # on the estate of their project
    assert listed("county") == [theirs["id"], project["id"], mine["id"]]
    assert listed("prefecture", status="published") == [theirs["id"], project["id"], mine["id"]]
    assert listed("other_county") == []
    assert listed("nobody") == []
    assert listed("county", project_id=town.project.id) == [project["id"]]
    assert listed("county", status="draft") == []


def test_voting_does_not_import_notices():
    """The events publish through api.core's listeners, so the dependency rule holds."""
    from tests.layout.test_dependencies import _modules, _violations

    assert _violations(_modules("voting"), ("notices",)) == []


def test_staff_may_leave_out_the_notices_addressed_to_one_resident(app, client, make, town):
    published = post_notice(client, make, town.staff["clerk"], estate_id=town.estate.id).json
    with app.app_context():
        personal = Notice(
            category="ticket_answered",
            title="您反映的问题已答复",
            body="答复内容",
            target_kind="resident",
            county_id=town.county.id,
            community_id=town.estate.community_id,
            estate_id=town.estate.id,
            recipient_id=town.residents["a1"].id,
            status="published",
            published_at=utcnow(),
        )
        db.session.add(personal)
        db.session.commit()
        personal_id = personal.id

    def listed(**query):
        reply = client.get(
            "/api/v1/notices", query_string=query, headers=make.headers(town.staff["county"])
        )
        assert reply.status_code == 200, reply.json
        return [n["id"] for n in reply.json["items"]]

    assert listed() == [personal_id, published["id"]]
    assert listed(personal="false") == [published["id"]]
    assert listed(personal="true") == [personal_id]
    assert (
        client.get(
            "/api/v1/notices?personal=maybe", headers=make.headers(town.staff["county"])
        ).status_code
        == 422
    )
