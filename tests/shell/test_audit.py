"""The audit trail of staff writes (issue 14, `api.core.audit`): one append-only row per
committed staff write, in the same transaction as the change, with personal data masked; none
for a write that rolls back, none for residents' own writes or for reads."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import DBAPIError

from api.core import audit, db
from api.core.audit import AuditEntry
from participation.models import Community, Estate, Household


def _entries(app) -> list[AuditEntry]:
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        db.session.expunge_all()
        return entries


def test_a_staff_edit_leaves_one_row_with_who_what_where_and_the_fields_masked(app, client, make):
    estate = make.estate()
    household = make.household(estate, room="101", name="张三丰", phone="1234", area="88.50")
    clerk = make.staff("committee", estate.community_id, username="clerk-audit")

    reply = client.patch(
        f"/api/v1/households/{household.id}",
        json={"owner_name": "李四光", "owner_change": "correction", "floor_area": 90.25},
        headers=make.headers(clerk),
    )

    assert reply.status_code == 200, reply.json
    [entry] = _entries(app)
    assert (entry.staff_id, entry.username) == (clerk.id, "clerk-audit")
    assert entry.roles == [f"committee:{estate.community_id}"]
    assert entry.community_id == estate.community_id
    with app.app_context():
        assert entry.county_id == db.session.get(Community, estate.community_id).county_id
    assert (entry.method, entry.path) == ("PATCH", f"/api/v1/households/{household.id}")
    assert entry.action.endswith("edit_household")
    assert (entry.object_type, entry.object_id) == ("household", household.id)
    assert entry.address
    [change] = [c for c in entry.changes if c["table"] == "households"]
    assert change["op"] == "update" and change["id"] == household.id
    # The name is masked on both sides; the area is written as it was and is.
    assert change["before"]["owner_name"] == "张*丰"
    assert change["after"]["owner_name"] == "李*光"
    assert (change["before"]["floor_area"], change["after"]["floor_area"]) == ("88.50", "90.25")
    assert "张三丰" not in str(entry.changes) and "李四光" not in str(entry.changes)


def test_a_created_row_is_the_object_of_an_address_without_an_id(app, client, make):
    community = make.community()
    clerk = make.staff("committee", community.id)

    reply = client.post(
        "/api/v1/estates",
        json={"community_id": community.id, "name": "审计新村"},
        headers=make.headers(clerk),
    )

    assert reply.status_code == 201, reply.json
    [entry] = _entries(app)
    assert (entry.object_type, entry.object_id) == ("estates", reply.json["id"])
    [change] = entry.changes
    assert change["op"] == "insert" and change["after"]["name"] == "审计新村"


def test_reads_refusals_and_residents_writes_leave_no_row(app, client, make):
    estate = make.estate()
    household = make.household(estate, room="101")
    clerk = make.staff("committee", estate.community_id)
    stranger = make.staff("committee", make.community().id)
    resident = make.resident()

    assert (
        client.get(
            f"/api/v1/estates/{estate.id}/households", headers=make.headers(clerk)
        ).status_code
        == 200
    )
    refused = client.patch(
        f"/api/v1/households/{household.id}",
        json={"floor_area": 70},
        headers=make.headers(stranger),
    )
    assert refused.status_code in (403, 404)
    claimed = client.post(
        "/api/v1/me/households",
        json={
            "estate_id": estate.id,
            "building": "1栋",
            "unit": "1单元",
            "room": "101",
            "name": "王五",
            "phone_last4": "9999",
        },
        headers=make.headers(resident),
    )
    assert claimed.status_code in (200, 201, 202), claimed.json

    assert _entries(app) == []


def test_a_write_whose_transaction_rolls_back_leaves_no_row(app, client, make):
    estate = make.estate()
    household = make.household(estate, room="101", area="88.50")
    clerk = make.staff("committee", estate.community_id)

    def fail(session):
        # After the trail's own hook (installed first): its row is pending when this fails.
        if any(isinstance(o, AuditEntry) for o in session.new) or audit.recording(session):
            raise RuntimeError("the commit fails")

    with app.app_context():
        session_class = type(db.session())
    event.listen(session_class, "before_commit", fail)
    try:
        reply = client.patch(
            f"/api/v1/households/{household.id}",
            json={"floor_area": 70},
            headers=make.headers(clerk),
        )
    finally:
        event.remove(session_class, "before_commit", fail)

    assert reply.status_code == 500
    assert _entries(app) == []
    with app.app_context():
        assert str(db.session.get(Household, household.id).floor_area) == "88.50"


def test_a_savepoint_rolled_back_inside_the_transaction_is_not_recorded(app, make):
    estate = make.estate()
    clerk = make.staff("committee", estate.community_id)
    with app.test_request_context():
        audit.begin(
            db.session,
            {
                "staff_id": clerk.id,
                "username": clerk.username,
                "roles": [],
                "method": "POST",
                "path": "/test",
                "action": "test",
            },
        )
        kept = db.session.get(Estate, estate.id)
        kept.name = "留下的名字"
        db.session.flush()
        with db.session.begin_nested() as savepoint:
            db.session.add(Estate(community_id=estate.community_id, name="撤回的小区"))
            db.session.flush()
            savepoint.rollback()
        db.session.commit()

    [entry] = _entries(app)
    assert [(c["table"], c["op"]) for c in entry.changes] == [("estates", "update")]
    assert "撤回的小区" not in str(entry.changes)


def test_bulk_statements_are_counted(app, make):
    estate = make.estate()
    make.household(estate, room="101")
    make.household(estate, room="102")
    clerk = make.staff("committee", estate.community_id)
    with app.test_request_context():
        audit.begin(
            db.session,
            {
                "staff_id": clerk.id,
                "username": clerk.username,
                "roles": [],
                "method": "POST",
                "path": "/test",
                "action": "test",
            },
        )
        db.session.execute(
            update(Household).where(Household.estate_id == estate.id).values(floor_area=60)
        )
        db.session.commit()

    [entry] = _entries(app)
    assert entry.changes == [{"table": "households", "op": "bulk_update", "rows": 2}]


def test_the_trail_is_append_only(app, make):
    estate = make.estate()
    clerk = make.staff("committee", estate.community_id)
    with app.app_context():
        db.session.add(
            AuditEntry(
                staff_id=clerk.id,
                username="x",
                roles=[],
                action="test",
                method="POST",
                path="/",
                changes=[],
            )
        )
        db.session.commit()
        entry = db.session.scalars(select(AuditEntry)).one()
        entry.action = "changed"
        with pytest.raises(audit.AppendOnly):
            db.session.flush()
        db.session.rollback()
        entry = db.session.scalars(select(AuditEntry)).one()
        db.session.delete(entry)
        with pytest.raises(audit.AppendOnly):
            db.session.flush()
        db.session.rollback()


@pytest.mark.services
def test_postgresql_itself_refuses_to_change_or_delete_an_audit_row(app, make):
    estate = make.estate()
    clerk = make.staff("committee", estate.community_id)
    with app.app_context():
        db.session.add(
            AuditEntry(
                staff_id=clerk.id,
                username="x",
                roles=[],
                action="t",
                method="POST",
                path="/",
                changes=[],
            )
        )
        db.session.commit()
        for statement in ("UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.scalar(select(AuditEntry.action)) == "t"


LOOKS_PERSONAL = re.compile(r"name|phone|openid|unionid|password|id_card|mobile|nickname")
# Columns whose names look personal and are not: places', projects' and parties' names, files'.
NOT_PERSONAL = {
    "name",  # counties, communities, estates, buildings, projects, acceptance parties
    "username",  # a staff account's login, which the trail names as its actor
    "filename",
    "original_name",
    "file_name",
    "template_name",
}


def test_every_personal_looking_column_is_masked_or_hidden_in_the_trail(app):
    unclassified = sorted(
        f"{table.name}.{column.name}"
        for table in db.metadata.sorted_tables
        for column in table.columns
        if LOOKS_PERSONAL.search(column.name)
        and column.name not in audit.PERSONAL
        and column.name not in audit.SECRET
        and column.name not in NOT_PERSONAL
    )
    assert unclassified == [], "say in api.core.audit how the trail keeps these columns"
    assert audit.shown("owner_name", "欧阳娜娜") == "欧**娜"
    assert audit.shown("password_hash", "scrypt:...") == audit.HIDDEN
    assert audit.shown("choice", "agree") == audit.HIDDEN
