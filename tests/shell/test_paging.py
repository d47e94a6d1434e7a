"""One paging convention for every list of the API (issue 12, screen 6), read from the OpenAPI
document itself, so that a list added later cannot break it unnoticed.

The convention (`api.http.PAGING`, the document's `info.description`): a list that can grow
takes `page` (from 1, default 1) and `per_page` (1 to 100, default 20) and replies
`{items, page, per_page, total}`. A bare array is allowed only for the lists named in `BOUNDED`,
each bounded by what it describes; adding one there is a decision to write down, with why.
"""

from __future__ import annotations

import pytest

from api.core import db
from api.http import PAGING
from devtools import factory
from participation.models import Estate

# (method, path) -> why the list stays a bare array
BOUNDED = {
    ("get", "/api/v1/estates/{estate_id}/buildings"): "a pick list: one estate's buildings",
    ("get", "/api/v1/buildings/{building_id}/units"): "a pick list: one building's units",
    ("get", "/api/v1/buildings/{building_id}/rooms"): "a pick list: one unit's rooms",
    ("get", "/api/v1/me/households"): "the caller's own claims",
    (
        "get",
        "/api/v1/consultations/{consultation_id}/delegation-candidates",
    ): "the members of the calling owner's own households",
    ("get", "/api/v1/projects/{project_id}/plans"): "a project's plan versions, a handful",
    (
        "get",
        "/api/v1/projects/{project_id}/contribution-schemes",
    ): "a project's contribution schemes, a handful (one per plan item at most in practice)",
    ("get", "/api/v1/me/contributions"): "the schemes covering the caller's own households",
    ("get", "/api/v1/projects/{project_id}/buildings"): "a pick list: the project's buildings",
}
ENVELOPE = {"items", "page", "per_page", "total"}
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def openapi(app):
    reply = app.test_client().get("/api/openapi.json")
    assert reply.status_code == 200
    return reply.get_json()


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = spec["components"][kind][name]
    return node


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def _replies(spec, operation):
    """The JSON schema of each 2xx reply, resolved."""
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            content = _resolve(spec, response).get("content", {}).get("application/json", {})
            if "schema" in content:
                yield _resolve(spec, content["schema"])


def _query(spec, operation) -> dict:
    return {
        p["name"]: p["schema"]
        for p in (_resolve(spec, p) for p in operation.get("parameters", []))
        if p.get("in") == "query"
    }


def _is_page(schema: dict) -> bool:
    return ENVELOPE <= set(schema.get("properties", {}))


def test_every_list_pages_or_is_named_bounded(openapi):
    bare = []
    for method, path, operation in _operations(openapi):
        for schema in _replies(openapi, operation):
            if schema.get("type") == "array" and (method, path) not in BOUNDED:
                bare.append(f"{method.upper()} {path}")
    assert bare == [], (
        "these replies are bare arrays: page them (api.http PageArgs, page_schema, paginate), "
        "or name them in BOUNDED with why they cannot grow"
    )


def test_every_bounded_list_is_still_a_bare_array(openapi):
    """BOUNDED names no operation that is gone or pages now."""
    arrays = {
        (method, path)
        for method, path, operation in _operations(openapi)
        for schema in _replies(openapi, operation)
        if schema.get("type") == "array"
    }
    assert sorted(set(BOUNDED) - arrays) == []


def test_every_page_has_the_envelope_and_takes_page_and_per_page(openapi):
    problems = []
    pages = 0
    for method, path, operation in _operations(openapi):
        query = _query(openapi, operation)
        for schema in _replies(openapi, operation):
            where = f"{method.upper()} {path}"
            properties = schema.get("properties", {})
            looks_paged = {"items", "total"} <= set(properties) or {"page", "per_page"} & set(query)
            if not looks_paged:
                continue
            pages += 1
            if not _is_page(schema):
                problems.append(f"{where}: reply lacks {sorted(ENVELOPE - set(properties))}")
                continue
            if properties["items"].get("type") != "array":
                problems.append(f"{where}: `items` is not an array")
            for name in ("page", "per_page", "total"):
                if properties[name].get("type") != "integer":
                    problems.append(f"{where}: `{name}` is not an integer")
            page, per_page = query.get("page"), query.get("per_page")
            if page is None or per_page is None:
                problems.append(f"{where}: does not take page and per_page")
                continue
            if (page.get("default"), page.get("minimum")) != (1, 1):
                problems.append(f"{where}: page is not 1-based with default 1: {page}")
            expected = (20, 1, 100)
            found = (per_page.get("default"), per_page.get("minimum"), per_page.get("maximum"))
            if found != expected:
                problems.append(f"{where}: per_page is not 1..100, default 20: {per_page}")
    assert pages > 10, "the walk found too few pages: is the document read right?"
    assert problems == []


def test_the_convention_is_documented_once_in_the_document(openapi):
    description = openapi["info"]["description"]
    assert PAGING in description
    for word in ("`page`", "`per_page`", "{items, page, per_page, total}", "1 to 100"):
        assert word in description
    [counties] = [
        operation
        for method, path, operation in _operations(openapi)
        if (method, path) == ("get", "/api/v1/counties")
    ]
    described = {p["name"]: p.get("description") for p in counties["parameters"]}
    assert described["page"] and described["per_page"]


def test_a_page_past_the_end_and_bad_paging_on_a_changed_list(app, client, make):
    """The two lists that page since issue 12 answer as every page does."""
    county = make.county()
    community = make.community(county)
    estate = make.estate(community)
    project_id = _project(app, county, estate)
    clerk = make.staff("committee", community)
    headers = make.headers(clerk)
    url = f"/api/v1/projects/{project_id}/consultations"
    reply = client.get(url, query_string={"page": 3}, headers=headers)
    assert reply.status_code == 200, reply.json
    assert reply.json == {"items": [], "page": 3, "per_page": 20, "total": 0}
    for query in ({"page": 0}, {"per_page": 101}, {"per_page": "x"}):
        refused = client.get(url, query_string=query, headers=headers)
        assert refused.status_code == 422, refused.json
        assert set(refused.json["error"]["details"]["fields"]) <= {"page", "per_page"}


def _project(app, county, estate) -> int:
    with app.app_context():
        project = factory.project(county, [db.session.get(Estate, estate.id)], "分页项目")
        db.session.commit()
        return project.id
