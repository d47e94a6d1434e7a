"""Staff login: failed attempts are rate limited (429 `rate_limited`): per username and address,
and per address over all usernames, so that one password sprayed over many usernames is limited
too; and an answer the server failed to give counts like a wrong password."""

from __future__ import annotations

import pytest
from limits import parse

from tests.support.fresh_app import dispose, fresh_app

LOGIN = "/api/v1/auth/staff-login"
GOOD = "correct-horse-1"


def _login(client, username, password):
    return client.post(LOGIN, json={"username": username, "password": password})


def _allowed(app, setting="STAFF_LOGIN_LIMIT") -> int:
    return parse(app.config[setting]).amount


def _assert_rate_limited(reply):
    assert reply.status_code == 429, reply.get_data(as_text=True)
    assert reply.is_json
    assert set(reply.json) == {"error"}
    assert reply.json["error"]["code"] == "rate_limited"
    assert reply.json["error"]["message"]
    assert int(reply.headers["Retry-After"]) > 0


def _exhaust(client, app, username):
    for attempt in range(_allowed(app)):
        reply = _login(client, username, f"wrong-{attempt}")
        assert reply.status_code == 401, (attempt, reply.json)
        assert reply.json["error"]["code"] == "invalid_credentials"


def test_default_limit_is_five_per_minute(app):
    assert app.config["STAFF_LOGIN_LIMIT"] == "5 per minute"


def test_wrong_passwords_past_the_limit_get_429(client, app, make):
    make.staff("prefecture", username="alice")

    _exhaust(client, app, "alice")

    _assert_rate_limited(_login(client, "alice", "wrong-again"))
    # Locked means locked: even the right password waits until the window passes.
    _assert_rate_limited(_login(client, "alice", GOOD))


def test_another_username_still_signs_in_while_one_is_limited(client, app, make):
    make.staff("prefecture", username="alice")
    make.staff("prefecture", username="bob")
    _exhaust(client, app, "alice")
    _assert_rate_limited(_login(client, "alice", "wrong-again"))

    reply = _login(client, "bob", GOOD)

    assert reply.status_code == 200, reply.json
    assert reply.json["token"]


def test_successful_logins_do_not_count(client, app, make):
    make.staff("prefecture", username="bob")

    for _ in range(_allowed(app) + 2):
        assert _login(client, "bob", GOOD).status_code == 200


def test_unknown_username_is_limited_like_a_known_one(client, app):
    _exhaust(client, app, "nobody")
    _assert_rate_limited(_login(client, "nobody", "wrong-again"))


@pytest.mark.parametrize("variant", [" alice", "alice ", "\talice\n"])
def test_padding_the_username_does_not_open_a_new_window(client, app, make, variant):
    # The login strips white space from the username, so the limit must count it stripped too,
    # or each padded spelling would give another five guesses at the same account.
    make.staff("prefecture", username="alice")
    _exhaust(client, app, "alice")

    _assert_rate_limited(_login(client, variant, "wrong-again"))


def test_the_limit_comes_from_the_setting(tmp_path):
    app = fresh_app(tmp_path, STAFF_LOGIN_LIMIT="2 per minute")
    try:
        client = app.test_client()
        for _ in range(2):
            assert _login(client, "carol", "wrong").status_code == 401
        _assert_rate_limited(_login(client, "carol", "wrong"))
    finally:
        dispose(app)


def test_building_another_app_leaves_this_apps_limits_alone(client, app, make, tmp_path):
    # One module-level limiter serves every app; a second create_app must not move the first
    # app's counts into the second app's storage (nor share them).
    make.staff("prefecture", username="alice")
    _exhaust(client, app, "alice")
    other = fresh_app(tmp_path)
    try:
        _assert_rate_limited(_login(client, "alice", "wrong-again"))
        assert _login(other.test_client(), "alice", "wrong").status_code == 401
    finally:
        dispose(other)


@pytest.mark.services
def test_limits_are_kept_in_redis(client, app, make, redis):
    make.staff("prefecture", username="alice")
    assert not [k for k in redis.scan_iter("*limits*")]

    assert _login(client, "alice", "wrong").status_code == 401

    keys = [k.decode() for k in redis.scan_iter("*limits*")]
    assert any("alice" in key for key in keys), keys


def test_one_password_sprayed_over_many_usernames_gets_429(client, app, make):
    make.staff("prefecture", username="alice")
    sprayed = "Spring2025!"
    allowed = _allowed(app, "STAFF_LOGIN_ADDRESS_LIMIT")
    assert allowed > _allowed(app)  # the per-address limit counts over all usernames

    for n in range(allowed):
        reply = _login(client, f"user{n:03}", sprayed)
        assert reply.status_code == 401, (n, reply.json)

    _assert_rate_limited(_login(client, "user-next", sprayed))
    # From this address even a right password waits until the window passes …
    _assert_rate_limited(_login(client, "alice", GOOD))
    # … while the same account signs in from another address.
    elsewhere = client.post(
        LOGIN,
        json={"username": "alice", "password": GOOD},
        environ_overrides={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert elsewhere.status_code == 200, elsewhere.json
    assert elsewhere.json["token"]


def test_the_address_limit_comes_from_its_setting(tmp_path):
    app = fresh_app(tmp_path, STAFF_LOGIN_ADDRESS_LIMIT="3 per hour")
    try:
        client = app.test_client()
        for name in ("ann", "ben", "cat"):
            assert _login(client, name, "wrong").status_code == 401
        _assert_rate_limited(_login(client, "dan", "wrong"))
    finally:
        dispose(app)


def test_a_sign_in_that_fails_with_a_500_counts_like_a_wrong_password(
    client, app, make, monkeypatch
):
    # Whatever input might break the sign-in one day, it cannot be repeated without limit.
    def broken(username):
        raise RuntimeError("a bug in the sign-in")

    monkeypatch.setattr("participation.queries.staff_by_username", broken)
    for _ in range(_allowed(app)):
        reply = _login(client, "alice", "anything")
        assert reply.status_code == 500
        assert reply.json["error"]["code"] == "internal_error"

    _assert_rate_limited(_login(client, "alice", "anything"))
