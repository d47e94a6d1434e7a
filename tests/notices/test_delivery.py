"""Delivery of notices as WeChat subscription messages, through the fake WeChat server: sent,
no consent, 43101, transient failures and their retries, claims that make a second send
impossible, withdrawal, and the per-second cap. Jobs run in-process, or on a real RQ worker
when Redis is configured (the killed-worker and scheduler tests are in
test_worker.py)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from api.core import LOCAL, db, utcnow
from notices import jobs
from notices.models import Delivery, Notice
from notices.service import delivery, pacing
from tests.support.notices_helpers import (
    TEMPLATE,
    build_town,
    consent,
    deliveries,
    post_notice,
    unspent,
)
from tests.support.voting_helpers import run_jobs

ALL = (0, 2**31 - 1)


@pytest.fixture(scope="module")
def town(app, module_make):
    """The town, built once for the module; each test rolls back to it."""
    return build_town(app, module_make)


def _publish(app, client, make, town, **body):
    reply = post_notice(client, make, town.staff["clerk"], estate_id=town.estate.id, **body)
    assert reply.status_code == 201, reply.json
    run_jobs(app)
    return reply.json


def _run_batch(app, notice_id):
    with app.app_context():
        return delivery.deliver_batch(notice_id, *ALL)


def _make_due(app, notice_id):
    with app.app_context():
        db.session.execute(
            update(Delivery)
            .where(Delivery.notice_id == notice_id, Delivery.status == "retrying")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def _to(wechat, resident) -> list[dict]:
    return [m for m in wechat.messages if m["touser"] == resident.openid]


def test_residents_with_a_consent_get_the_message_and_spend_it(app, client, make, town, wechat):
    r = town.residents
    consent(app, r["a1"])
    consent(app, r["a2"], count=2)
    title = "关于团结小区雨污分流改造施工期间临时停水的通知"

    notice = _publish(app, client, make, town, title=title, category="utility_cut")

    assert sorted(m["touser"] for m in wechat.messages) == sorted([r["a1"].openid, r["a2"].openid])
    message = _to(wechat, r["a1"])[0]
    assert message["template_id"] == TEMPLATE
    assert message["page"] == f"pages/notices/detail?id={notice['id']}"
    published = datetime.fromisoformat(notice["published_at"]).astimezone(LOCAL)
    assert message["data"] == {
        "thing1": {"value": title[:19] + "…"},
        "time2": {"value": published.strftime("%Y-%m-%d %H:%M")},
        "thing3": {"value": "停水停电"},
    }
    rows = deliveries(app, notice["id"])
    assert rows[r["a1"].id].status == rows[r["a2"].id].status == "sent"
    assert rows[r["a1"].id].msgid and rows[r["a1"].id].attempts == 1
    for key in ("a2b", "a3", "shared"):
        assert rows[r[key].id].status == "no_consent"
        assert rows[r[key].id].attempts == 0
    assert unspent(app, r["a1"]) == 0 and unspent(app, r["a2"]) == 1
    receipts = client.get(
        f"/api/v1/notices/{notice['id']}/receipts", headers=make.headers(town.staff["clerk"])
    ).json
    assert receipts["deliveries"] == {
        "pending": 0,
        "sending": 0,
        "sent": 2,
        "no_consent": 3,
        "failed": 0,
        "retrying": 0,
        "cancelled": 0,
        "total": 5,
    }


def test_no_message_is_sent_without_a_consent_for_its_template(app, client, make, town, wechat):
    r = town.residents
    consent(app, r["a1"])
    consent(app, r["a3"], template="some-other-template")
    first = _publish(app, client, make, town)
    second = _publish(app, client, make, town)

    assert [m["touser"] for m in wechat.messages] == [r["a1"].openid]
    assert deliveries(app, first["id"])[r["a1"].id].status == "sent"
    assert deliveries(app, second["id"])[r["a1"].id].status == "no_consent"
    assert deliveries(app, second["id"])[r["a3"].id].status == "no_consent"
    assert unspent(app, r["a3"], "some-other-template") == 1


def test_43101_is_recorded_not_retried_and_voids_the_consents_counted(
    app, client, make, town, wechat
):
    a1 = town.residents["a1"]
    consent(app, a1, count=3)
    wechat.errors_for[a1.openid] = [43101]

    notice = _publish(app, client, make, town)

    row = deliveries(app, notice["id"])[a1.id]
    assert (row.status, row.errcode, row.attempts) == ("failed", 43101, 1)
    assert row.finished_at is not None and row.next_attempt_at is None
    assert unspent(app, a1) == 0  # WeChat says there is none left: neither do we
    calls = len(wechat.calls)
    _run_batch(app, notice["id"])
    assert len(wechat.calls) == calls  # not retried
    assert _to(wechat, a1) == []


def test_transient_failures_retry_with_backoff_and_give_the_consent_back(
    app, client, make, town, wechat
):
    a1 = town.residents["a1"]
    consent(app, a1)
    wechat.errors_for[a1.openid] = [-1, 45009]
    waits = app.config["NOTICE_RETRY_SECONDS"]

    notice = _publish(app, client, make, town)

    row = deliveries(app, notice["id"])[a1.id]
    assert (row.status, row.errcode, row.attempts) == ("retrying", -1, 1)
    expected = row.updated_at + timedelta(seconds=waits[0])
    assert abs((row.next_attempt_at - expected).total_seconds()) < 1
    assert unspent(app, a1) == 1  # given back: WeChat did not take it

    _run_batch(app, notice["id"])  # not due yet: nothing happens
    assert deliveries(app, notice["id"])[a1.id].attempts == 1

    _make_due(app, notice["id"])
    _run_batch(app, notice["id"])
    row = deliveries(app, notice["id"])[a1.id]
    assert (row.status, row.errcode, row.attempts) == ("retrying", 45009, 2)
    expected = row.updated_at + timedelta(seconds=waits[1])
    assert abs((row.next_attempt_at - expected).total_seconds()) < 1

    _make_due(app, notice["id"])
    _run_batch(app, notice["id"])
    row = deliveries(app, notice["id"])[a1.id]
    assert (row.status, row.attempts, row.errcode) == ("sent", 3, None)
    assert len(_to(wechat, a1)) == 1
    assert unspent(app, a1) == 0


def test_no_answer_in_time_is_retried(app, client, make, town, wechat):
    a1 = town.residents["a1"]
    consent(app, a1)
    wechat.stalls_for[a1.openid] = [app.config["WECHAT_TIMEOUT_SECONDS"] + 0.5]

    notice = _publish(app, client, make, town)

    row = deliveries(app, notice["id"])[a1.id]
    assert (row.status, row.last_error, row.errcode) == ("retrying", "wechat_unavailable", None)
    _make_due(app, notice["id"])
    _run_batch(app, notice["id"])
    assert deliveries(app, notice["id"])[a1.id].status == "sent"
    assert len(_to(wechat, a1)) == 1


def test_retries_end_in_failed_when_the_waits_are_used_up(app, client, make, town, wechat):
    a1 = town.residents["a1"]
    consent(app, a1)
    tries = len(app.config["NOTICE_RETRY_SECONDS"]) + 1
    wechat.errors_for[a1.openid] = [-1] * (tries + 1)

    notice = _publish(app, client, make, town)
    for _ in range(tries - 1):
        _make_due(app, notice["id"])
        _run_batch(app, notice["id"])

    row = deliveries(app, notice["id"])[a1.id]
    assert (row.status, row.attempts, row.errcode) == ("failed", tries, -1)
    assert unspent(app, a1) == 1
    assert _to(wechat, a1) == []


def test_a_row_is_claimed_once_so_no_job_sends_it_twice(app, client, make, town, wechat):
    r = town.residents
    for key in ("a1", "a2", "a3"):
        consent(app, r[key], count=2)
    notice = _publish(app, client, make, town)
    assert len(wechat.messages) == 3

    # the same batch again, twice (a retried job, a duplicate from the sweep): nothing more
    _run_batch(app, notice["id"])
    _run_batch(app, notice["id"])
    assert len(wechat.messages) == 3
    assert sorted(m["touser"] for m in wechat.messages) == sorted(
        r[k].openid for k in ("a1", "a2", "a3")
    )
    assert {unspent(app, r[k]) for k in ("a1", "a2", "a3")} == {1}


def test_a_row_left_sending_by_a_dead_worker_is_never_sent_again(app, client, make, town, wechat):
    a1 = town.residents["a1"]
    notice_id = _publish(app, client, make, town)["id"]
    # a worker claimed a1's row, called WeChat, and died before recording the answer
    with app.app_context():
        db.session.execute(
            update(Delivery)
            .where(Delivery.notice_id == notice_id, Delivery.resident_id == a1.id)
            .values(status="sending", claimed_at=utcnow() - timedelta(minutes=3))
        )
        db.session.commit()
    consent(app, a1)
    _run_batch(app, notice_id)
    assert _to(wechat, a1) == []

    with app.app_context():
        done = jobs.sweep()
    assert done["interrupted"] == 1
    row = deliveries(app, notice_id)[a1.id]
    assert (row.status, row.last_error) == ("failed", "interrupted")
    _run_batch(app, notice_id)
    assert _to(wechat, a1) == []


def test_withdrawing_cancels_the_messages_not_yet_sent(app, client, make, town, wechat):
    a1, a2 = town.residents["a1"], town.residents["a2"]
    consent(app, a1)
    consent(app, a2)
    wechat.errors_for[a1.openid] = [45009]
    notice = _publish(app, client, make, town)
    assert deliveries(app, notice["id"])[a1.id].status == "retrying"

    client.post(
        f"/api/v1/notices/{notice['id']}/withdraw",
        json={"reason": "取消"},
        headers=make.headers(town.staff["clerk"]),
    )
    _make_due(app, notice["id"])
    _run_batch(app, notice["id"])

    rows = deliveries(app, notice["id"])
    assert rows[a1.id].status == "cancelled"
    assert rows[a2.id].status == "sent"  # already sent before the withdrawal
    assert _to(wechat, a1) == []


def test_a_delivery_is_marked_stalled_and_requeued_by_the_sweep(app, client, make, town, wechat):
    """A batch whose job was lost (Redis lost, worker killed before it started) is found by the
    sweep once nobody has touched its rows for a while."""
    a1 = town.residents["a1"]
    consent(app, a1)
    notice = post_notice(client, make, town.staff["clerk"], estate_id=town.estate.id).json
    if not app.extensions["jobs"].inline:
        # the job was queued: lose it
        app.extensions["redis"].flushdb()
    else:
        with app.app_context():  # in-process it ran: put the rows back as if it had not
            db.session.execute(
                update(Delivery)
                .where(Delivery.notice_id == notice["id"])
                .values(status="pending", finished_at=None, msgid=None, attempts=0)
            )
            db.session.commit()
        wechat.messages.clear()
        consent(app, a1)

    with app.app_context():
        assert jobs.sweep()["requeued"] == []  # recent: its job may still be coming
        assert jobs.sweep(utcnow() + timedelta(minutes=3))["requeued"] == [notice["id"]]
    run_jobs(app)

    assert deliveries(app, notice["id"])[a1.id].status == "sent"
    assert len(_to(wechat, a1)) == 1


def test_the_pace_keeps_to_the_per_second_cap(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_SEND_RATE_PER_SECOND", 4)
    started = time.time()
    with app.app_context():
        seconds = []
        for _ in range(10):
            pacing.pace()
            seconds.append(int(time.time()))
    per_second = {s: seconds.count(s) for s in seconds}
    assert max(per_second.values()) <= 4
    assert len(per_second) >= 3
    assert time.time() - started > 1.0


def test_no_cap_means_no_wait(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_SEND_RATE_PER_SECOND", 0)
    started = time.time()
    with app.app_context():
        for _ in range(200):
            pacing.pace()
    assert time.time() - started < 0.5


def test_a_notice_deleted_or_withdrawn_before_its_batch_runs_sends_nothing(app, wechat):
    with app.app_context():
        assert delivery.deliver_batch(999_999, *ALL) == {
            "sent": 0,
            "no_consent": 0,
            "failed": 0,
            "retrying": 0,
        }
        assert db.session.get(Notice, 999_999) is None
