"""A resident's copy of everything held about them (`GET /api/v1/me/export`, issue 12, PIPL
art. 45): complete (every column of the schema that points at residents is read into some
section, and a resident with a row in each table finds each in the export), their own only,
for residents only, and served before the privacy notice is accepted."""

from __future__ import annotations

import json

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, or_, select

from api.core import db
from devtools import factory
from feedback.service import personal as feedback_personal
from notices.service import personal as notices_personal
from participation.service import personal as participation_personal
from tests.support.feedback_world import (
    STAFF,
    assert_error_shape,
    build_world,
    snapshot,
)
from tests.support.personal_world import enrich
from voting.service import personal as voting_personal

EXPORT = "/api/v1/me/export"
DOMAINS = (participation_personal, voting_personal, feedback_personal, notices_personal)


def _declared() -> dict[str, tuple[str, ...]]:
    sources = {}
    for module in DOMAINS:
        for section, columns in module.SOURCES.items():
            assert section not in sources, f"two domains export a section called {section}"
            sources[section] = columns
    return sources


def _columns_pointing_at_residents() -> set[str]:
    return {
        f"{table.name}.{fk.parent.name}"
        for table in db.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "residents" and fk.column.name == "id"
    }


def test_every_column_that_points_at_residents_is_read_into_the_export():
    """A table added later with a resident's id in it fails here until some domain's
    `service/personal.py` exports it (and its erasure is thought through beside it)."""
    declared = {column for columns in _declared().values() for column in columns}
    pointing = _columns_pointing_at_residents()
    assert pointing - declared == set(), "not exported: add them to a domain's personal.py"
    assert declared - pointing == set(), "exported from columns that do not point at residents"
    # The scan sees what it must (all models registered): a few that are known to be there.
    assert {"household_claims.resident_id", "ballots.resident_id", "comments.author_id"} <= pointing


@pytest.fixture
def rich(app):
    w = build_world(app)
    mine = enrich(app, w, "supervisor", "甲标记")
    theirs = enrich(app, w, "resident_member", "乙标记", other_resident="supervisor")
    return w, mine, theirs


def _count(app, column: str, resident_id: int) -> int:
    table_name, column_name = column.split(".")
    table = db.metadata.tables[table_name]
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(table).where(table.c[column_name] == resident_id)
        )


def _rows_of(app, columns: tuple[str, ...], resident_id: int) -> int:
    """How many rows of one table point at the resident through any of `columns`."""
    table = db.metadata.tables[columns[0].split(".")[0]]
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(table)
            .where(or_(*(table.c[c.split(".")[1]] == resident_id for c in columns)))
        )


def test_a_resident_with_a_row_in_every_table_finds_each_in_the_export(app, client, rich):
    w, mine, theirs = rich
    reply = client.get(EXPORT, headers=w.headers["supervisor"])
    assert reply.status_code == 200, reply.json
    export = reply.json
    sections = _declared()
    assert set(export) == {"generated_at", "resident", *sections}
    for column in _columns_pointing_at_residents():
        assert _count(app, column, mine.resident_id) > 0, f"the world has no row in {column}"
    for section, columns in sections.items():
        assert export[section], f"{section} is empty"
        tables = {c.split(".")[0] for c in columns}
        if section != "memberships" and len(tables) == 1:
            assert len(export[section]) == _rows_of(app, columns, mine.resident_id), section

    me = export["resident"]
    assert me == {
        "id": mine.resident_id,
        "openid": "openid-supervisor",
        "unionid": None,
        "nickname": "李娜娜",
        "created_at": me["created_at"],
        "last_login_at": me["last_login_at"],
    }
    [claim] = export["household_claims"]
    assert claim["household_id"] == w.households["supervisor"]
    assert (claim["claimed_name"], claim["claimed_phone_last4"]) == ("李娜", "1234")
    assert (claim["status"], claim["status_label"]) == ("verified", "已认证")
    assert (claim["relation"], claim["relation_label"]) == ("owner", "业主")
    [membership] = export["memberships"]
    assert membership["estate"] == "甲小区" and membership["room"] == "103"
    with app.app_context():
        assert [c["version"] for c in export["privacy_consents"]] == [factory.privacy_version()]

    ballots = {b["consultation_id"]: b for b in export["ballots"]}
    assert set(ballots) == {mine.open_consultation, mine.closed_consultation}
    ballot = ballots[mine.closed_consultation]
    assert ballot["receipt"] == mine.receipts[mine.closed_consultation]
    assert (ballot["choice"], ballot["choice_label"]) == ("satisfied", "满意")
    assert (ballot["channel"], ballot["channel_label"]) == ("wechat", "微信投票")
    assert ballot["comment"] == "甲标记的意见" and ballot["cast_at"]
    delegations = {d["role"]: d for d in export["delegations"]}
    assert delegations["owner"]["id"] == mine.delegation
    assert delegations["owner"]["role_label"] == "委托人"
    assert delegations["owner"]["note"] == "甲标记委托"
    # The delegation the other resident gave the caller: theirs, without the owner's note.
    assert delegations["delegate"]["id"] == theirs.delegation
    assert delegations["delegate"]["role_label"] == "受托人"
    assert delegations["delegate"]["note"] is None
    [ticket] = export["tickets"]
    assert ticket["id"] == w.ticket_answered
    assert [(e["kind"], e["by"], e["body"]) for e in ticket["events"]] == [
        ("opened", "reporter", None),
        ("answered", "staff", "已整改"),
    ]
    assert ticket["photo_upload_ids"] == [w.upload]
    assert export["inspections"][0]["photo_upload_ids"] == [w.upload]
    assert {u["id"] for u in export["uploads"]} >= {w.upload}
    assert "path" not in export["uploads"][0]  # described, not where the file lies
    assert {c["status"] for c in export["comments"]} == {"visible", "pending_check"}
    assert export["notices_to_me"][0]["title"] == "甲标记通知"
    assert export["messages"][0]["status"] == "pending"


def test_the_export_holds_the_callers_rows_only(app, client, rich):
    w, mine, theirs = rich
    export = client.get(EXPORT, headers=w.headers["supervisor"]).json
    text = json.dumps(export, ensure_ascii=False)
    assert "甲标记" in text
    assert "乙标记" not in text, "another resident's rows are in the export"
    for foreign in ("openid-resident_member", "张伟", "夜间施工噪音大", "希望周末不要施工"):
        assert foreign not in text
    assert theirs.open_consultation not in {b["consultation_id"] for b in export["ballots"]}
    assert w.ticket_open not in {t["id"] for t in export["tickets"]}
    # And the other resident's export is theirs, with none of the caller's rows.
    other = json.dumps(client.get(EXPORT, headers=w.headers["resident_member"]).json)
    other = json.loads(other)
    assert "乙标记" in json.dumps(other, ensure_ascii=False)
    assert "甲标记" not in json.dumps(other, ensure_ascii=False)


def test_a_resident_with_nothing_gets_empty_sections(app, client, make):
    resident = make.resident("新居民")
    export = client.get(EXPORT, headers=make.headers(resident)).json
    assert export["resident"]["nickname"] == "新居民"
    assert export["privacy_consents"]  # the factory's residents accepted the notice
    assert all(export[s] == [] for s in _declared() if s != "privacy_consents")


def test_the_export_is_served_before_the_privacy_notice_is_accepted(app, client, make):
    resident = make.resident("未同意", consented=False)
    with app.test_request_context():
        headers = {"Authorization": f"Bearer {factory.resident_token(resident.id, None)}"}
    reply = client.get(EXPORT, headers=headers)
    assert reply.status_code == 200, reply.json
    assert reply.json["privacy_consents"] == []
    # Elsewhere the same token is refused until the notice is accepted.
    assert_error_shape(client.get("/api/v1/me", headers=headers), 403, "consent_required")


def test_who_may_export(app, client):
    w = build_world(app)
    assert_error_shape(client.get(EXPORT), 401, "unauthorized")
    for staff in STAFF:
        assert_error_shape(client.get(EXPORT, headers=w.headers[staff]), 403, "residents_only")
    for resident in ("resident_unverified", "resident_other_estate", "resident_member"):
        assert client.get(EXPORT, headers=w.headers[resident]).status_code == 200


def _forged(app, payload, key="another-secret-key-0123456789") -> dict:
    with app.test_request_context():
        token = URLSafeTimedSerializer(key, salt="bearer-token").dumps(payload)
    return {"Authorization": f"Bearer {token}"}


def _signed(app, payload) -> dict:
    return _forged(app, payload, key=app.config["SECRET_KEY"])


BAD_HEADERS = {
    "no scheme": lambda app, rid: {"Authorization": "token"},
    "basic": lambda app, rid: {"Authorization": "Basic dXNlcjpwYXNz"},
    "empty bearer": lambda app, rid: {"Authorization": "Bearer "},
    "garbage": lambda app, rid: {"Authorization": "Bearer " + "x" * 5000},
    "another key": lambda app, rid: _forged(app, {"k": "resident", "id": rid}),
    "id as text": lambda app, rid: _signed(app, {"k": "resident", "id": str(rid)}),
    "unknown kind": lambda app, rid: _signed(app, {"k": "admin", "id": rid}),
}


@pytest.mark.parametrize("method", ["get", "delete"])
@pytest.mark.parametrize("bad", sorted(BAD_HEADERS))
def test_bad_tokens_are_401_and_change_nothing(app, client, make, method, bad):
    resident = make.resident()
    before = snapshot(app)
    path = EXPORT if method == "get" else "/api/v1/me"
    reply = getattr(client, method)(path, headers=BAD_HEADERS[bad](app, resident.id))
    assert_error_shape(reply, 401)
    assert snapshot(app) == before


@pytest.mark.parametrize("method", ["get", "delete"])
@pytest.mark.parametrize("resident_id", [0, 987654321, -1])
def test_a_token_for_no_resident_is_401(app, client, method, resident_id):
    with app.test_request_context():
        headers = {"Authorization": f"Bearer {factory.resident_token(resident_id)}"}
    before = snapshot(app)
    path = EXPORT if method == "get" else "/api/v1/me"
    assert_error_shape(getattr(client, method)(path, headers=headers), 401, "token_invalid")
    assert snapshot(app) == before


def test_query_strings_and_bodies_change_nothing_in_the_export(app, client, make):
    resident = make.resident("居民")
    headers = make.headers(resident)
    plain = client.get(EXPORT, headers=headers).json
    for extra in ({"query_string": {"resident_id": 1, "page": "x"}}, {"data": b"{not json"}):
        reply = client.get(EXPORT, headers=headers, **extra)
        assert reply.status_code == 200
        assert {k: v for k, v in reply.json.items() if k != "generated_at"} == {
            k: v for k, v in plain.items() if k != "generated_at"
        }
