"""The permission matrix of the contribution scheme endpoints (issue 15, H1): every endpoint
against every kind of caller of the voting world (tests/support/voting_world.py), plus a
tenant and a family member of the project's estate and a county officer of another county.

Anonymous → 401. Residents outside the project's estates (or holding only a pending claim) and
staff outside its scope → 404: the scheme does not exist for them. Staff-only endpoints refuse
every resident (403 `staff_only`). Scheme writes are the project's managers' (owner, county,
prefecture): its committee sees the scheme and is refused (403). A pledge is a verified owner's
or family member's of that household (a tenant: 403) or a committee clerk's at the desk (the
county, the prefecture; not the project's owner). A refused call writes nothing.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.contributions.scheme_helpers import (
    S,
    adopted_scheme,
    create_scheme,
    link,
    owners_decision,
)
from tests.support.voting_world import ALLOWED, REFUSED, assert_error_shape, build_world, snapshot

EXTRA = ("tenant", "family", "county_other")
ACTORS = REFUSED + ALLOWED + EXTRA
RESIDENTS_IN = ("resident_member", "tenant", "family")
RESIDENTS_OUT = ("resident_other_estate", "resident_unverified")
STAFF_IN = ("clerk", "owner", "county_officer", "prefecture")
STAFF_OUT = ("clerk_other_community", "owner_other_project", "county_other")


@pytest.fixture(scope="module")
def world(app, client_module, module_make):
    w = build_world(app, module_make)
    h = w.scene.household_ids
    tenant = module_make.member(SimpleNamespace(id=h[0]), relation="tenant")
    family = module_make.member(SimpleNamespace(id=h[1]), relation="family")
    other_county = module_make.county()
    county_other = module_make.staff("county", other_county)
    for actor, who in (("tenant", tenant), ("family", family), ("county_other", county_other)):
        w.callers[actor] = who
        w.headers[actor] = module_make.headers(who)
    client = client_module
    adopted = adopted_scheme(app, client, w)
    draft = create_scheme(client, w, title="草案方案")
    cid = owners_decision(app, client, w, "passed")
    assert link(client, w, draft["id"], cid).status_code == 200
    return SimpleNamespace(w=w, adopted=adopted["id"], draft=draft["id"], decision=cid)


@pytest.fixture(scope="module")
def client_module(app):
    return app.test_client()


def answers(default: int, **overrides: int) -> dict[str, int]:
    result = dict.fromkeys(ACTORS, default)
    result["anonymous"] = 401
    result.update(overrides)
    return result


def readers(ok: int = 200) -> dict[str, int]:
    return answers(ok, **dict.fromkeys(RESIDENTS_OUT + STAFF_OUT, 404))


def staff_readers(ok: int = 200) -> dict[str, int]:
    return answers(403, **dict.fromkeys(STAFF_IN, ok), **dict.fromkeys(STAFF_OUT, 404))


def managers(ok: int = 200) -> dict[str, int]:
    return answers(
        403,
        **dict.fromkeys(("owner", "county_officer", "prefecture"), ok),
        **dict.fromkeys(STAFF_OUT, 404),
    )


# endpoint name → (method, path of the world, body, expected status per actor)
ENDPOINTS = {
    "list": (
        "get",
        lambda x: f"/api/v1/projects/{x.w.project_id}/contribution-schemes",
        None,
        readers(),
    ),
    "create": (
        "post",
        lambda x: f"/api/v1/projects/{x.w.project_id}/contribution-schemes",
        {"title": "出资", "basis": "household", "rate_fen": 100, "due_on": "2100-01-01"},
        managers(201),
    ),
    "buildings": (
        "get",
        lambda x: f"/api/v1/projects/{x.w.project_id}/buildings",
        None,
        staff_readers(),
    ),
    "get": ("get", lambda x: f"{S}/{x.adopted}", None, readers()),
    "patch": ("patch", lambda x: f"{S}/{x.draft}", {"description": "补充说明"}, managers()),
    "decision": (
        "put",
        lambda x: f"{S}/{x.draft}/decision",
        lambda x: {"consultation_id": x.decision},
        managers(),
    ),
    "adopt": ("post", lambda x: f"{S}/{x.draft}/adopt", None, managers()),
    "cancel": ("post", lambda x: f"{S}/{x.adopted}/cancel", {"reason": "取消"}, managers()),
    "households": ("get", lambda x: f"{S}/{x.adopted}/households", None, staff_readers()),
    "figures": ("get", lambda x: f"{S}/{x.adopted}/figures", None, readers()),
    "publicity": ("get", lambda x: f"{S}/{x.adopted}/publicity", None, readers()),
    "export": ("get", lambda x: f"{S}/{x.adopted}/export.xlsx", None, staff_readers()),
    "pledge": (
        "put",
        lambda x: f"{S}/{x.adopted}/pledges/{x.w.scene.household_ids[0]}",
        {"choice": "pledged"},
        answers(
            403,
            resident_member=200,
            clerk=200,
            county_officer=200,
            prefecture=200,
            **dict.fromkeys(RESIDENTS_OUT + STAFF_OUT, 404),
        ),
    ),
    "mine": (
        "get",
        lambda x: "/api/v1/me/contributions",
        None,
        answers(403, **dict.fromkeys(RESIDENTS_IN + RESIDENTS_OUT, 200)),
    ),
}

CASES = [(name, actor) for name in ENDPOINTS for actor in ACTORS]


@pytest.mark.parametrize(("name", "actor"), CASES, ids=[f"{n}-{a}" for n, a in CASES])
def test_permission_matrix(app, client, world, name, actor):
    method, path, body, expected = ENDPOINTS[name]
    if callable(body):
        body = body(world)
    before = snapshot(app) if method != "get" else None
    kwargs = {"json": body} if body is not None else {}
    reply = getattr(client, method)(path(world), headers=world.w.headers[actor], **kwargs)
    status = expected[actor]
    assert reply.status_code == status, (name, actor, reply.get_data(as_text=True)[:300])
    if status >= 400:
        assert_error_shape(reply, status)
        if before is not None:
            assert snapshot(app) == before, (name, actor)


def test_the_matrix_lists_every_endpoint_of_the_blueprint(app):
    served = {
        (method.lower(), rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("contributions.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert len(served) == len(ENDPOINTS), sorted(served)
    world = SimpleNamespace(
        w=SimpleNamespace(project_id=1, scene=SimpleNamespace(household_ids=[1])),
        adopted=1,
        draft=1,
    )
    listed = set()
    for method, path, _, expected in ENDPOINTS.values():
        assert set(expected) == set(ACTORS)
        listed.add((method, path(world)))
    assert len(listed) == len(ENDPOINTS)


def test_a_tenant_is_refused_a_pledge_and_a_family_member_may_pledge(app, client, world):
    w = world.w
    h = w.scene.household_ids
    before = snapshot(app)
    reply = client.put(
        f"{S}/{world.adopted}/pledges/{h[0]}",
        json={"choice": "pledged"},
        headers=w.headers["tenant"],
    )
    assert_error_shape(reply, 403, "tenant_cannot_pledge")
    reply = client.put(
        f"{S}/{world.adopted}/pledges/{h[1]}",
        json={"choice": "pledged"},
        headers=w.headers["resident_member"],
    )
    assert_error_shape(reply, 403, "not_household_member")
    assert snapshot(app) == before
    reply = client.put(
        f"{S}/{world.adopted}/pledges/{h[1]}",
        json={"choice": "declined", "reason": "家中老人不同意"},
        headers=w.headers["family"],
    )
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["choice"] == "declined"


def test_a_resident_sees_their_households_amounts_and_basis(app, client, world):
    w = world.w
    mine = client.get("/api/v1/me/contributions", headers=w.headers["resident_member"])
    assert mine.status_code == 200
    (household,) = mine.get_json()
    assert household["household_id"] == w.scene.household_ids[0]
    assert household["may_pledge"] is True
    by_id = {s["scheme_id"]: s for s in household["schemes"]}
    adopted, draft = by_id[world.adopted], by_id[world.draft]
    assert adopted["amount_fen"] == 100000 and adopted["provisional"] is False
    assert adopted["basis_words"] == "按建筑面积 80.00 m² × 12.50 元/m²，按分四舍五入"
    assert adopted["outstanding_fen"] == 100000 and adopted["pledge"] is None
    assert draft["provisional"] is True and draft["status_label"] == "草案"
    tenant = client.get("/api/v1/me/contributions", headers=w.headers["tenant"]).get_json()
    assert tenant[0]["may_pledge"] is False and tenant[0]["relation_label"] == "租户"
    outsider = client.get("/api/v1/me/contributions", headers=w.headers["resident_other_estate"])
    assert outsider.get_json()[0]["schemes"] == []


def test_the_publicity_masks_owners_and_shows_spending(app, client, world):
    w = world.w
    reply = client.get(f"{S}/{world.adopted}/publicity", headers=w.headers["resident_member"])
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["total"] == 4
    assert all(item["owner"].endswith("*") or "*" in item["owner"] for item in body["items"])
    assert "reason" not in body["items"][0]
    assert set(body["spending"]) == {"lines", "totals"}


def test_the_export_is_a_workbook_with_three_sheets(app, client, world):
    from io import BytesIO

    from openpyxl import load_workbook

    reply = client.get(f"{S}/{world.adopted}/export.xlsx", headers=world.w.headers["clerk"])
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "no-store"
    book = load_workbook(BytesIO(reply.data))
    assert book.sheetnames == ["户", "缴退款记录", "楼栋统计"]
    rows = list(book["户"].iter_rows(min_row=3, values_only=True))
    assert len(rows) == 4 and all("*" in row[3] for row in rows)
    assert sum(row[5] for row in rows) == 4000
    totals = list(book["楼栋统计"].iter_rows(min_row=3, values_only=True))[-1]
    assert totals[0] == "合计" and totals[1] == 4
