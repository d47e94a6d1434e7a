"""Staff sign-in tells nobody which usernames exist (issue 9, item 1).

A known username, a deactivated one and an unknown one get the same answer (status and body)
for a wrong password, after the same work (one password hash checked); no password, however
odd its text, gives a 500.
"""

from __future__ import annotations

import pytest
from werkzeug import security

from api import auth
from api.core import db
from participation.models import Staff

LOGIN = "/api/v1/auth/staff-login"
GOOD = "correct-horse-1"


def _raw_login(client, body: str):
    """A body sent as typed: `\\ud800` escapes reach the server as lone surrogates."""
    return client.post(LOGIN, data=body.encode(), content_type="application/json")


@pytest.fixture
def accounts(app, make):
    make.staff("prefecture", username="alice")
    gone = make.staff("prefecture", username="gone")
    with app.app_context():
        db.session.get(Staff, gone.id).active = False
        db.session.commit()
    return ("alice", "gone", "nobody-by-this-name")


@pytest.fixture
def hash_checks(monkeypatch):
    """How many password hashes each sign-in checked."""
    calls = []
    real = security.check_password_hash

    def counted(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", counted)
    return calls


def _answer(reply) -> tuple[int, dict]:
    return reply.status_code, reply.get_json()


@pytest.mark.parametrize(
    "password",
    [r"\ud800", r"a\udfffb", r"\udc00\ud800", r"correct-horse-1\ud800"],
    ids=["lone-high", "lone-low-inside", "reversed-pair", "right-password-then-surrogate"],
)
def test_a_password_that_is_not_text_is_refused_alike_for_every_username(
    client, accounts, password
):
    answers = {
        username: _answer(
            _raw_login(client, f'{{"username": "{username}", "password": "{password}"}}')
        )
        for username in accounts
    }

    for username, (status, body) in answers.items():
        assert status in (401, 422), (username, status, body)
        assert set(body) == {"error"}
    assert len(set(map(repr, answers.values()))) == 1, answers


def test_password_matches_never_raises_on_a_lone_surrogate(app, make):
    with app.app_context():
        stored = auth.hash_password(GOOD)
        assert auth.password_matches(stored, GOOD)
        assert auth.password_matches(stored, "\ud800") is False
        assert auth.password_matches(stored, GOOD + "\udfff") is False
        assert auth.staff_credentials_valid(None, "\ud800") is False


def test_known_deactivated_and_unknown_usernames_answer_alike(client, accounts, hash_checks):
    answers = {}
    for username in accounts:
        hash_checks.clear()
        answers[username] = _answer(
            client.post(LOGIN, json={"username": username, "password": "wrong-password"})
        )
        # The same work for each: one hash checked (a stand-in for the unknown username), so
        # that the time of the answer does not tell either.
        assert len(hash_checks) == 1, (username, hash_checks)

    status, body = answers["alice"]
    assert status == 401
    assert body["error"]["code"] == "invalid_credentials"
    assert body["error"]["message"] == "用户名或密码错误"
    assert answers["gone"] == answers["alice"] == answers["nobody-by-this-name"]


def test_a_deactivated_account_with_its_right_password_is_refused_like_a_wrong_one(
    client, accounts
):
    right = _answer(client.post(LOGIN, json={"username": "gone", "password": GOOD}))
    wrong = _answer(client.post(LOGIN, json={"username": "nobody", "password": GOOD}))
    assert right == wrong
    assert right[0] == 401


def test_the_right_password_still_signs_in(client, accounts, hash_checks):
    reply = client.post(LOGIN, json={"username": "alice", "password": GOOD})
    assert reply.status_code == 200, reply.json
    assert reply.json["token"]
    assert len(hash_checks) == 1
