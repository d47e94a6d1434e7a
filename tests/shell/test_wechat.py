"""WeChat sign-in through the local fake WeChat, and the guard that keeps tests off the internet."""

from __future__ import annotations

import socket
import time

import pytest
import requests
from sqlalchemy import inspect, select

from api.core import db
from api.wechat import WeChat, WeChatUnavailable
from participation.models import Resident
from tests.conftest import count_rows
from tests.support import fake_wechat
from tests.support.consent import consented_headers
from tests.support.fresh_app import dispose, fresh_app

LOGIN = "/api/v1/auth/wechat-login"
# DESIGN/issue: WeChat unreachable or timing out answers 503 within 5 s.
ANSWER_WITHIN_SECONDS = 5.0


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _assert_error(reply, status, code):
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.is_json
    assert reply.json["error"]["code"] == code
    assert reply.json["error"]["message"]


# --- a good code ---------------------------------------------------------------------------


def test_good_code_gives_a_token_and_creates_the_resident(client, app, wechat):
    wechat.codes["code-good"] = "openid-good"

    reply = client.post(LOGIN, json={"code": "code-good", "nickname": "老张🏠"})

    assert reply.status_code == 200, reply.json
    assert reply.json["token"]
    assert reply.json["user"]["nickname"] == "老张🏠"
    assert wechat.calls == ["/sns/jscode2session"]
    with app.app_context():
        resident = db.session.scalar(select(Resident).where(Resident.openid == "openid-good"))
        assert resident is not None
        assert reply.json["user"]["id"] == resident.id
        # WeChat's session_key is used for nothing, so it is kept nowhere (issue 9, item 14).
        columns = [
            column["name"] for column in inspect(db.session.connection()).get_columns("residents")
        ]
        assert "session_key" not in columns
        stored = db.session.execute(select(Resident.__table__)).mappings().one()
        assert "fake-session-key==" not in repr(dict(stored))

    me = client.get("/api/v1/me", headers=consented_headers(client, reply))
    assert me.status_code == 200
    assert me.json["kind"] == "resident" and me.json["id"] == resident.id
    for answer in (reply, me):
        body = answer.get_data(as_text=True)
        assert "session_key" not in body
        assert "fake-session-key" not in body


def test_second_login_with_the_same_openid_reuses_the_resident(client, app, wechat):
    wechat.codes.update({"code-1": "openid-same", "code-2": "openid-same"})

    first = client.post(LOGIN, json={"code": "code-1"})
    second = client.post(LOGIN, json={"code": "code-2"})

    assert first.status_code == second.status_code == 200
    assert first.json["user"]["id"] == second.json["user"]["id"]
    assert count_rows(app, Resident) == 1


# --- WeChat says no ------------------------------------------------------------------------


def test_bad_code_is_401_wechat_code_invalid_and_creates_no_one(client, app, wechat):
    reply = client.post(LOGIN, json={"code": "code-nobody-issued"})

    _assert_error(reply, 401, "wechat_code_invalid")
    assert wechat.calls == ["/sns/jscode2session"]
    assert count_rows(app, Resident) == 0


# --- WeChat unreachable or slow -------------------------------------------------------------


def test_wechat_answering_502_is_503_wechat_unavailable(client, app, wechat):
    wechat.codes["code-good"] = "openid-good"
    wechat.down = True

    reply = client.post(LOGIN, json={"code": "code-good"})

    _assert_error(reply, 503, "wechat_unavailable")
    assert wechat.calls == ["/sns/jscode2session"]
    assert count_rows(app, Resident) == 0


def test_wechat_refusing_connections_is_503_wechat_unavailable(tmp_path):
    app = fresh_app(tmp_path, WECHAT_API_BASE=f"http://127.0.0.1:{_closed_port()}/")
    try:
        started = time.monotonic()
        reply = app.test_client().post(LOGIN, json={"code": "code-good"})
        elapsed = time.monotonic() - started

        _assert_error(reply, 503, "wechat_unavailable")
        assert elapsed < ANSWER_WITHIN_SECONDS
        assert count_rows(app, Resident) == 0
    finally:
        dispose(app)


def test_slow_wechat_is_503_within_five_seconds(client, app, wechat):
    wechat.codes["code-good"] = "openid-good"
    timeout = app.config["WECHAT_TIMEOUT_SECONDS"]
    # Longer than the timeout, but short: the fake serves one request at a time.
    wechat.delay = timeout + 0.5

    started = time.monotonic()
    reply = client.post(LOGIN, json={"code": "code-good"})
    elapsed = time.monotonic() - started

    _assert_error(reply, 503, "wechat_unavailable")
    assert elapsed < ANSWER_WITHIN_SECONDS
    assert elapsed < wechat.delay, "the adapter waited for the slow answer instead of timing out"
    assert count_rows(app, Resident) == 0


def test_malformed_login_body_is_refused_before_calling_wechat(client, wechat):
    reply = client.post(LOGIN, json={"code": 12345, "extra": True})

    _assert_error(reply, 422, "invalid")
    assert wechat.calls == []


# --- the access token also goes to WECHAT_API_BASE -------------------------------------------


@pytest.fixture
def adapter(app):
    """A new adapter on the app's settings: its token store starts empty, so it must fetch."""
    return WeChat.from_config(app.config)


def test_access_token_is_fetched_from_wechat_api_base(adapter, wechat):
    token = adapter._client.access_token

    assert token == "token-1"
    assert wechat.calls == ["/cgi-bin/token"]
    assert wechat.token_calls == 1


def test_a_call_that_needs_the_token_fetches_it_from_wechat_api_base(adapter, wechat):
    verdict = adapter.check_text("openid-any", "小区改造方案征求意见")

    assert verdict == "pass"
    assert wechat.calls == ["/cgi-bin/token", "/wxa/msg_sec_check"]


def test_subscribe_message_goes_to_wechat_api_base_with_the_token(adapter, wechat):
    msgid = adapter.send_subscribe_message("openid-any", "tmpl-1", {"thing1": {"value": "公示"}})

    assert msgid == 1
    assert wechat.calls == ["/cgi-bin/token", "/cgi-bin/message/subscribe/send"]
    assert wechat.messages[0]["touser"] == "openid-any"


def test_token_is_fetched_once_and_reused(adapter, wechat):
    adapter.check_text("openid-any", "一")
    adapter.check_text("openid-any", "二")

    assert wechat.token_calls == 1


def test_slow_access_token_fetch_times_out(adapter, app, wechat):
    timeout = app.config["WECHAT_TIMEOUT_SECONDS"]
    wechat.delay = timeout + 0.5

    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        adapter._client.access_token  # noqa: B018 - the property fetches the token
    elapsed = time.monotonic() - started

    # wechatpy itself sends the token request without a timeout; the adapter adds one.
    assert elapsed < wechat.delay, f"token fetch waited {elapsed:.1f}s: no timeout"


@pytest.mark.parametrize("failure", ["down", "slow"])
def test_token_fetch_failure_is_wechat_unavailable(adapter, app, wechat, failure):
    if failure == "down":
        wechat.down = True
    else:
        wechat.delay = app.config["WECHAT_TIMEOUT_SECONDS"] + 0.5

    started = time.monotonic()
    with pytest.raises(WeChatUnavailable):
        adapter.check_text("openid-any", "你好")
    assert time.monotonic() - started < ANSWER_WITHIN_SECONDS
    assert wechat.calls == ["/cgi-bin/token"]


def test_fake_wechat_checks_the_app_credentials(app):
    # The fake refuses other credentials, so a passing login also proves the adapter sends
    # WECHAT_APPID and WECHAT_SECRET.
    assert (app.config["WECHAT_APPID"], app.config["WECHAT_SECRET"]) == (
        fake_wechat.APPID,
        fake_wechat.SECRET,
    )


# --- the network guard ---------------------------------------------------------------------


def test_network_guard_blocks_a_non_loopback_connection():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        with pytest.raises(AssertionError, match="tried to reach the network"):
            sock.connect(("203.0.113.1", 80))


def test_network_guard_blocks_ipv6_too():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        with pytest.raises(AssertionError, match="tried to reach the network"):
            sock.connect(("2001:db8::1", 80))


def test_network_guard_lets_loopback_through(wechat_server):
    with socket.create_connection((wechat_server.host, wechat_server.port), timeout=1):
        pass
