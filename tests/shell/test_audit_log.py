"""Reading the audit trail (`GET /audit`, `GET /audit/labels`, `GET /audit.xlsx`): who reads
which entries (the permission matrix), the search's conditions and their bad input, the Excel
export, and the label table covering every staff write of the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from api.core import audit_log, db
from api.core.audit import AuditEntry
from api.routes import audit as audit_routes
from tests.shell.test_audit_walk import staff_write_operations
from tests.support.registry_world import assert_error_shape, build_world, snapshot
from tests.support.statements import count_statements

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(app, module_transaction):
    """The registry's world (two counties, a caller of every kind) and one entry written by
    each of four staff: the clerk, the other community's clerk, the county officer and the
    prefecture, an hour apart, the newest last."""
    w = build_world(app)
    writers = [
        ("clerk", w.county, w.community, "places.edit_household", "households", w.household),
        (
            "clerk_other_community",
            w.other_county,
            w.other_community,
            "places.edit_household",
            "household",
            w.other_household,
        ),
        ("county_officer", w.county, None, "places.create_estate", "estates", w.estate),
        ("prefecture", None, None, "places.create_county", "counties", w.other_county),
    ]
    with app.app_context():
        for hours, (actor, county_id, community_id, action, object_type, object_id) in enumerate(
            writers
        ):
            db.session.add(
                AuditEntry(
                    at=T0 + timedelta(hours=hours),
                    staff_id=w.callers[actor],
                    username=actor,
                    roles=["committee:1"],
                    county_id=county_id,
                    community_id=community_id,
                    action=action,
                    method="POST",
                    path="/api/v1/x",
                    object_type=object_type,
                    object_id=object_id,
                    address="127.0.0.1",
                    changes=[
                        {
                            "table": "households",
                            "id": object_id,
                            "op": "update",
                            "before": {"floor_area": "=1+1"},
                            "after": {"floor_area": "90.25"},
                        }
                    ],
                )
            )
        db.session.commit()
        db.session.remove()
    return w


def _get(client, world, actor, path="/api/v1/audit", **query):
    return client.get(path, query_string=query, headers=world.headers[actor])


def _writers(reply) -> list[str]:
    return [item["username"] for item in reply.json["items"]]


# --- who reads what ---------------------------------------------------------------------------

SEES = {
    "prefecture": ["prefecture", "county_officer", "clerk_other_community", "clerk"],
    "county_officer": ["county_officer", "clerk"],
    "clerk": ["clerk"],
    "clerk_other_community": ["clerk_other_community"],
}
REFUSED = {
    "anonymous": (401, None),
    "resident_member": (403, "staff_only"),
    "resident_other_estate": (403, "staff_only"),
    "owner": (403, "out_of_scope"),
}
PATHS = ("/api/v1/audit", "/api/v1/audit/labels", "/api/v1/audit.xlsx")


@pytest.mark.parametrize("actor", sorted(SEES))
def test_each_staff_member_reads_the_entries_of_their_scope_newest_first(client, world, actor):
    reply = _get(client, world, actor)

    assert reply.status_code == 200, reply.json
    assert _writers(reply) == SEES[actor]
    assert reply.json["total"] == len(SEES[actor])
    assert (reply.json["page"], reply.json["per_page"]) == (1, 20)
    workbook = _get(client, world, actor, "/api/v1/audit.xlsx")
    assert workbook.status_code == 200
    sheet = load_workbook(BytesIO(workbook.data)).active
    assert [row[1] for row in sheet.iter_rows(min_row=3, values_only=True)] == SEES[actor]


@pytest.mark.parametrize("actor", sorted(REFUSED))
@pytest.mark.parametrize("path", PATHS)
def test_others_are_refused(app, client, world, actor, path):
    status, code = REFUSED[actor]
    before = snapshot(app)
    reply = client.get(path, headers=world.headers[actor])

    error = assert_error_shape(reply, status)
    if code:
        assert error["code"] == code
    assert snapshot(app) == before


def test_an_item_says_who_what_which_object_and_the_fields_before_and_after(client, world):
    reply = _get(client, world, "clerk")

    [item] = reply.json["items"]
    assert item["staff_id"] == world.callers["clerk"]
    assert item["action"] == "places.edit_household"
    assert item["action_label"] == "修改住户信息"
    # A created row names its table; the reply names its kind, as a search does.
    assert (item["object_type"], item["object_label"]) == ("household", "住户")
    assert item["object_id"] == world.household
    assert item["role_labels"] == ["社区居委会（1）"]
    assert item["at"].startswith("2026-11-30T08:00:00")
    assert item["changes"][0]["after"] == {"floor_area": "90.25"}


# --- the search --------------------------------------------------------------------------------


def test_the_search_by_staff_object_action_and_time(client, world):
    def found(**query):
        reply = _get(client, world, "prefecture", **query)
        assert reply.status_code == 200, reply.json
        return _writers(reply)

    assert found(staff="clerk") == ["clerk"]
    assert found(staff=str(world.callers["county_officer"])) == ["county_officer"]
    # Either name of a kind of object finds the entries that carry the other.
    assert found(object_type="household") == ["clerk_other_community", "clerk"]
    assert found(object_type="household", object_id=world.household) == ["clerk"]
    assert found(object_type="estate", object_id=world.estate) == ["county_officer"]
    assert found(action="places.create_county") == ["prefecture"]
    assert found(**{"from": "2026-11-30T09:00:00Z", "to": "2026-11-30T10:00:00Z"}) == [
        "county_officer",
        "clerk_other_community",
    ]
    # Local time with its offset: 16:00 in Beijing is 08:00 UTC.
    assert found(**{"to": "2026-11-30T16:00:00+08:00"}) == ["clerk"]
    assert found(action="places.edit_household", per_page=1, page=2) == ["clerk"]


def test_the_search_never_reaches_past_the_callers_scope(client, world):
    reply = _get(client, world, "clerk", object_type="household", object_id=world.other_household)
    assert reply.status_code == 200 and reply.json["items"] == [] and reply.json["total"] == 0
    # Another community's clerk is not named to them, as if the account did not exist.
    for staff in ("clerk_other_community", str(world.callers["clerk_other_community"])):
        error = assert_error_shape(_get(client, world, "clerk", staff=staff), 422)
        assert error["code"] == "staff_not_found"


@pytest.mark.parametrize(
    "query, code, field",
    [
        ({"from": "yesterday"}, "invalid", "from"),
        ({"from": "2026-11-30T08:00:00"}, "invalid", "from"),  # no offset
        ({"to": "2026-13-01T00:00:00Z"}, "invalid", "to"),
        ({"to": "9999-12-31T00:00:00Z"}, "invalid", "to"),
        ({"from": "2026-12-01T00:00:00Z", "to": "2026-11-30T00:00:00Z"}, "bad_time_range", None),
        ({"staff": "nobody"}, "staff_not_found", None),
        ({"staff": "999999"}, "staff_not_found", None),
        ({"staff": "x" * 65}, "invalid", "staff"),
        ({"per_page": "0"}, "invalid", "per_page"),
        ({"per_page": "101"}, "invalid", "per_page"),
        ({"page": "zero"}, "invalid", "page"),
        ({"object_type": "rocket"}, "invalid", "object_type"),
        ({"object_id": "3"}, "invalid", "object_type"),
        ({"object_type": "household", "object_id": "-1"}, "invalid", "object_id"),
        ({"action": "places.drop_everything"}, "invalid", "action"),
    ],
)
def test_bad_searches_are_422_in_chinese(app, client, world, query, code, field):
    for path in ("/api/v1/audit", "/api/v1/audit.xlsx"):
        if path.endswith("xlsx") and set(query) & {"page", "per_page"}:
            continue
        error = assert_error_shape(_get(client, world, "prefecture", path, **query), 422)
        assert error["code"] == code, error
        if field:
            assert field in str(error["details"]), error


# --- the workbook ------------------------------------------------------------------------------


def test_the_workbook_has_the_searchs_rows_as_text_with_the_labels(client, world):
    reply = _get(client, world, "county_officer", "/api/v1/audit.xlsx", staff="clerk")

    assert reply.status_code == 200
    assert reply.mimetype == audit_routes.XLSX
    assert "attachment" in reply.headers["Content-Disposition"]
    sheet = load_workbook(BytesIO(reply.data)).active
    assert sheet.title == "操作日志"
    assert "共 1 条" in sheet["A1"].value
    [row] = list(sheet.iter_rows(min_row=3))
    values = [cell.value for cell in row]
    assert values[:6] == [
        "2026-11-30 16:00:00",
        "clerk",
        "committee:1",
        "修改住户信息",
        "住户",
        world.household,
    ]
    # "=1+1" from a field is text in the sheet, never a formula Excel would run.
    changes = row[8]
    assert "floor_area==1+1" in changes.value and changes.data_type == "s"


def test_an_export_past_the_limit_is_refused_with_the_count(client, world, monkeypatch):
    monkeypatch.setattr(audit_routes, "EXPORT_MAX", 1)

    error = assert_error_shape(_get(client, world, "county_officer", "/api/v1/audit.xlsx"), 422)

    assert error["code"] == "export_too_large"
    assert error["details"] == {"total": 2, "limit": 1}
    assert "2" in error["message"]


# --- the labels --------------------------------------------------------------------------------


def test_every_staff_write_operation_has_a_chinese_label(app):
    endpoints = {endpoint for _, _, endpoint in staff_write_operations(app)}
    missing = sorted(endpoints - set(audit_log.ACTIONS))
    assert missing == [], "label these staff writes in api.core.audit_log.ACTIONS"
    stale = sorted(set(audit_log.ACTIONS) - endpoints)
    assert stale == [], "these labels name no staff write operation of the document"


def test_the_labels_endpoint_gives_every_action_and_kind(client, world):
    reply = _get(client, world, "clerk", "/api/v1/audit/labels")

    assert reply.status_code == 200
    assert {a["code"]: a["label"] for a in reply.json["actions"]} == audit_log.ACTIONS
    assert {"code": "consultation", "label": "征询"} in reply.json["object_types"]


def test_a_page_costs_the_same_statements_for_2_entries_as_for_12(app, client, world):
    def statements() -> tuple[int, int]:
        with count_statements(app) as counted:
            reply = _get(client, world, "county_officer")
        assert reply.status_code == 200
        return counted.count, reply.json["total"]

    few, total = statements()
    assert total == 2
    with app.app_context():
        db.session.add_all(
            AuditEntry(
                staff_id=world.callers["clerk"],
                username="clerk",
                roles=[],
                county_id=world.county,
                community_id=world.community,
                action="places.edit_household",
                method="PATCH",
                path="/api/v1/x",
                changes=[],
            )
            for _ in range(10)
        )
        db.session.commit()
    many, total = statements()
    assert total == 12
    assert many == few, "a page's statements must not grow with its rows"


def test_a_long_change_is_cut_in_its_cell():
    changes = [
        {"table": "households", "id": n, "op": "update", "before": {"x": "甲" * 300}}
        for n in range(1, 6)
    ]
    text = audit_log.changes_text(changes)
    assert len(text) < audit_log.CELL_MAX + 40
    assert text.endswith("（共 5 项变更，全文见操作日志页面）")
    assert audit_log.changes_text(changes[:1]).startswith("households#1 update: x=甲")


def test_every_table_has_a_chinese_label(app):
    unlabelled = sorted(t.name for t in db.metadata.sorted_tables if t.name not in audit_log.TABLES)
    assert unlabelled == [], "say what these tables hold in api.core.audit_log.TABLES"
