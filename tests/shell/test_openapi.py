"""The OpenAPI document covers every route, with its errors in the one error shape."""

from __future__ import annotations

import re

import pytest

ERROR_REF = "#/components/schemas/Error"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def openapi(app):
    reply = app.test_client().get("/api/openapi.json")
    assert reply.status_code == 200
    assert reply.mimetype == "application/json"
    return reply.get_json()


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = spec["components"][kind][name]
    return node


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield path, method, operation


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_openapi_is_valid_json_with_the_basics(openapi):
    assert openapi["openapi"].startswith("3.")
    assert openapi["info"]["title"]
    assert openapi["components"]["schemas"]["Error"]["properties"]["error"]


def test_openapi_lists_every_api_route_of_the_app(app, openapi):
    routes = {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - IGNORED_METHODS
    }
    assert routes, "no /api/v1 routes found"
    documented = {(path, method) for path, method, _ in _operations(openapi)}
    assert sorted(routes - documented) == []
    # and nothing documented that the app does not serve
    assert sorted(documented - routes) == []


def test_every_operation_documents_its_errors_in_the_error_shape(openapi):
    problems = []
    for path, method, operation in _operations(openapi):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        errors = {code: r for code, r in responses.items() if code == "default" or code >= "400"}
        if not [code for code in errors if code != "default"]:
            problems.append(f"{where}: no error responses")
        for code, response in errors.items():
            schema = _resolve(openapi, response).get("content", {}).get("application/json", {})
            if schema.get("schema", {}).get("$ref") != ERROR_REF:
                problems.append(f"{where}: {code} is not documented with the Error schema")
        secured = operation.get("security", openapi.get("security")) not in (None, [])
        if secured and "401" not in responses:
            problems.append(f"{where}: needs a token but does not document 401")
        if "{" in path and "404" not in responses:
            problems.append(f"{where}: takes an id but does not document 404")
        takes_input = "requestBody" in operation or any(
            p.get("in") == "query" for p in operation.get("parameters", [])
        )
        if takes_input and "422" not in responses:
            problems.append(f"{where}: validates input but does not document 422")
        successes = [code for code in responses if code.startswith("2")]
        if not successes:
            problems.append(f"{where}: no success response")
    assert problems == []


def test_every_request_body_and_reply_has_a_schema(openapi):
    problems = []
    for path, method, operation in _operations(openapi):
        where = f"{method.upper()} {path}"
        body = operation.get("requestBody")
        if body is not None and not any(
            media.get("schema") for media in _resolve(openapi, body)["content"].values()
        ):
            problems.append(f"{where}: request body without a schema")
        for code, response in operation["responses"].items():
            if code.startswith("2") and code != "204":
                content = _resolve(openapi, response).get("content", {})
                if not any(media.get("schema") for media in content.values()):
                    problems.append(f"{where}: {code} reply without a schema")
    assert problems == []
