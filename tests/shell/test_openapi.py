"""The OpenAPI document covers every route, with its errors in the one error shape."""

from __future__ import annotations

import re

import marshmallow as ma
import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator

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


def test_the_document_is_valid_openapi(openapi):
    """openapi-spec-validator finds nothing wrong: a fuzzer or a client generator can read every
    operation (money bounds were strings, a default broke its own minLength)."""
    problems = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
        for error in OpenAPIV30SpecValidator(openapi).iter_errors()
    ]
    assert problems == []


def _argument_schemas(app) -> set[type]:
    """Every schema class the views read arguments with, and the schemas nested in them."""
    found: set[type] = set()

    def visit(schema):
        schema_class = schema if isinstance(schema, type) else type(schema)
        if schema_class in found:
            return
        found.add(schema_class)
        for field in schema_class._declared_fields.values():
            for inner in (
                field,
                getattr(field, "inner", None),
                getattr(field, "value_field", None),
            ):
                if isinstance(inner, ma.fields.Nested):
                    visit(inner.nested)

    for view in app.view_functions.values():
        for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            visit(parameter["schema"])
    return found


# Rules between fields that the services check, and the fields each schema's description names.
CROSS_FIELD_RULES = {
    "GrantArgs": ("scope_id", "prefecture"),
    "StaffArgs": ("grants",),
    "NoticeArgs": (
        "community_id",
        "estate_id",
        "project_id",
        "building_ids",
        "draft",
        "publish_at",
        "expires_at",
    ),
    "NoticePatchArgs": ("title", "expires_at"),
    "PublishArgs": ("publish_at",),
    "SubscriptionArgs": ("results", "errMsg"),
    "ConsultationArgs": (
        "plan_id",
        "threshold",
        "opens_at",
        "closes_at",
        "matter",
        "rule",
        "quorum",
    ),
    "BallotArgs": ("items", "choice", "item_opinions", "household_id"),
    "PaperBallotArgs": ("household_id", "assisted_by", "channel"),
    "DelegationArgs": ("household_id", "delegate_id", "power_of_attorney_upload_id"),
    "ProjectArgs": ("estate_ids",),
    "AcceptanceArgs": ("held_on", "parties", "representatives"),
    "CommentArgs": ("parent_id",),
}


def test_rules_between_fields_are_described(app, openapi):
    """A schema whose validation looks at several fields at once (a `validates_schema` or
    `post_load` hook) describes its rule in the document, and so do the schemas whose rules
    the services check (CROSS_FIELD_RULES), naming the fields."""
    schemas = openapi["components"]["schemas"]
    problems = []
    for schema_class in _argument_schemas(app):
        hooks = schema_class._hooks
        if (hooks.get("validates_schema") or hooks.get("post_load")) and not getattr(
            getattr(schema_class, "Meta", None), "description", None
        ):
            problems.append(f"{schema_class.__name__}: a rule between fields, no description")
    for name, fields in CROSS_FIELD_RULES.items():
        description = schemas[name].get("description", "")
        missing = [field for field in fields if f"`{field}`" not in description]
        if missing:
            problems.append(f"{name}: the description does not name {missing}")
    assert problems == []


def test_schemas_that_refuse_unknown_fields_say_so(app, openapi):
    """Every body refuses a field it does not know (422), so its schema says
    `additionalProperties: false`, description or not (apispec leaves it out beside one)."""
    schemas = openapi["components"]["schemas"]
    problems = [
        schema_class.__name__
        for schema_class in _argument_schemas(app)
        if schema_class.__name__ in schemas
        and schema_class().unknown == ma.RAISE
        and schemas[schema_class.__name__].get("additionalProperties") is not False
    ]
    assert problems == []


# The replies the mini-program's screens read (issue 12: each screen built from the document
# alone, through a generated client): the calls the closing note lists per screen.
SCREEN_REPLIES = [
    ("get", "/api/v1/me"),
    ("get", "/api/v1/me/home"),
    ("get", "/api/v1/me/households"),
    ("get", "/api/v1/projects/{project_id}"),
    ("get", "/api/v1/projects/{project_id}/timeline"),
    ("get", "/api/v1/projects/{project_id}/progress"),
    ("get", "/api/v1/projects/{project_id}/plans"),
    ("get", "/api/v1/projects/{project_id}/plans/current"),
    ("get", "/api/v1/consultations/{consultation_id}"),
    ("get", "/api/v1/consultations/{consultation_id}/ballot"),
    ("put", "/api/v1/consultations/{consultation_id}/ballot"),
    ("get", "/api/v1/consultations/{consultation_id}/turnout"),
    ("get", "/api/v1/notices"),
    ("get", "/api/v1/notices/{notice_id}"),
    ("get", "/api/v1/me/supervision"),
]


def _untyped(spec: dict, node: dict, where: str, seen: set) -> list[str]:
    """`where.property` for each property under `node` with no type (nor a schema to read one
    from): a generated client makes it `any`, and the screen cannot know what it holds."""
    found = []
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            found += _untyped(spec, _resolve(spec, node), name, seen)
        return found
    for key in ("allOf", "oneOf", "anyOf"):
        for part in node.get(key, []):
            found += _untyped(spec, part, where, seen)
    if isinstance(node.get("items"), dict):
        found += _untyped(spec, node["items"], where, seen)
    for name, prop in node.get("properties", {}).items():
        if not any(key in prop for key in ("type", "$ref", "allOf", "oneOf", "anyOf")):
            found.append(f"{where}.{name}")
        found += _untyped(spec, prop, where, seen)
    return found


def test_every_field_a_screen_reads_has_a_type(openapi):
    seen: set = set()
    problems = []
    for method, path in SCREEN_REPLIES:
        for code, response in openapi["paths"][path][method]["responses"].items():
            if code.startswith("2"):
                for media in _resolve(openapi, response).get("content", {}).values():
                    problems += _untyped(openapi, media["schema"], path, seen)
    assert problems == []
