"""Input that made a 500 or a misleading answer (issue 9, items 2, 5, 8, 9, 10 and 13), and
the walks over the OpenAPI document that keep every operation and every field from it.

How a body is read lives in `api/http.py` (`load_json`, `ArgumentsParser`); the fields in
`api/core/fields.py`. Every refusal is the one error shape and leaves every table as it was.
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest

from api.core import utcnow
from tests.support.feedback_world import World, build_world, refused, snapshot

MiB = 1024 * 1024
SURROGATE = "a\ud800b"  # what JSON's "a\ud800b" reads as: a lone UTF-16 half
FAR_DATES = ("0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31")
FAR_TIMES = (
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "1999-12-31T15:59:59+00:00",
    "2101-01-01T00:00:00+00:00",
)


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The feedback world (tests/support/feedback_world.py), built once for the module."""
    return build_world(app)


@pytest.fixture(scope="module")
def openapi(app) -> dict:
    return app.test_client().get("/api/openapi.json").get_json()


def raw_json(client, method, path, text: str, headers=None, content_type="application/json"):
    """Send `text` as the body, byte for byte (the test client's `json=` cannot send a lone
    surrogate: it encodes the body itself)."""
    return client.open(
        path, method=method, data=text.encode(), content_type=content_type, headers=headers
    )


# --- walking the OpenAPI document --------------------------------------------------------------


def _resolve(spec, node):
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def operations(spec):
    """(method, path with its ids filled in, operation) of every documented operation."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield method.upper(), re.sub(r"\{[^}]+\}", "1", path), operation


def json_body_schema(spec, operation):
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return _resolve(spec, content["application/json"]["schema"])


def json_operations(spec):
    return [
        (method, path, operation)
        for method, path, operation in operations(spec)
        if json_body_schema(spec, operation) is not None
    ]


def leaves(spec, schema, where=()):
    """(path into a body, schema) of every value a body may hold: through objects, lists and
    maps (a map's values under the key "k")."""
    schema = _resolve(spec, schema)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        for name, prop in schema.get("properties", {}).items():
            yield from leaves(spec, prop, (*where, name))
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            yield from leaves(spec, extra, (*where, "k"))
    elif kind == "array":
        yield from leaves(spec, schema.get("items", {}), (*where, 0))
    else:
        yield where, schema


def body_at(where, value):
    """The smallest body holding `value` at `where` (["items", 0, "note"] → {"items": [{…}]})."""
    for step in reversed(where):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def error_at(error: dict, where) -> list:
    """The messages `details.fields` holds for `where` (JSON keys: list indices are text)."""
    node = error["details"]["fields"]
    for step in where:
        node = node[str(step)]
    if isinstance(node, dict):  # a map's value, as marshmallow nests it: {"k": {"value": […]}}
        node = node["value"]
    return node


def caller_for(world: World, operation) -> dict:
    """Headers that get past the operation's sign-in check: none for the sign-in endpoints,
    staff (the prefecture) or a resident for the others (`as_resident`)."""
    if operation.get("security") == []:
        return {}
    return world.headers["prefecture"]


def send(client, world, method, path, operation, text, **kwargs):
    """Send as staff; an endpoint for residents only is sent again as a resident."""
    reply = raw_json(client, method, path, text, caller_for(world, operation), **kwargs)
    if reply.status_code in (401, 403) and operation.get("security") != []:
        reply = raw_json(client, method, path, text, world.headers["resident_member"], **kwargs)
    return reply


def test_the_walks_cover_the_api(openapi):
    """The walks below are not empty: they reach the JSON writes and their text fields."""
    writes = json_operations(openapi)
    assert len(writes) >= 30
    texts = [
        (path, where)
        for _, path, operation in writes
        for where, schema in leaves(openapi, json_body_schema(openapi, operation))
        if schema.get("type") == "string"
    ]
    assert len(texts) >= 80
    assert ("/api/v1/projects/1/plans", ("items", 0, "description")) in texts
    assert ("/api/v1/me/subscriptions", ("results", "k")) in texts


# --- item 2: text that cannot be stored --------------------------------------------------------


def test_a_lone_surrogate_or_nul_in_any_text_field_is_422_naming_it(app, client, world, openapi):
    """Every string a JSON body may hold, at any depth, in every operation: a lone surrogate
    (no encoding can write it) or a NUL (PostgreSQL refuses it) is a 422 naming the field."""
    before = snapshot(app)
    checked = 0
    for method, path, operation in json_operations(openapi):
        for where, schema in leaves(openapi, json_body_schema(openapi, operation)):
            if schema.get("type") != "string":
                continue
            for bad in (SURROGATE, "a\x00b"):
                text = json.dumps(body_at(where, bad))  # ASCII: "\ud800" and "\u0000" escapes
                reply = send(client, world, method, path, operation, text)
                error = refused(app, before, reply, 422, "invalid")
                assert error_at(error, where), (method, path, where, error)
                checked += 1
    assert checked >= 160


def test_a_lone_surrogate_in_a_key_is_422_and_never_echoed_raw(app, client, world, openapi):
    before = snapshot(app)
    for method, path, operation in json_operations(openapi):
        reply = send(client, world, method, path, operation, '{"\\ud800x": 1}')
        error = refused(app, before, reply, 422, "invalid")
        assert "\\ud800x" in error["details"]["fields"], (method, path, error)


def test_a_nul_in_any_query_parameter_is_422_naming_it(app, client, world, openapi):
    """A query string cannot carry a lone surrogate (werkzeug keeps `%ED%A0%80` as it is) but
    it can carry a NUL (`%00`)."""
    before = snapshot(app)
    checked = 0
    for method, path, operation in operations(openapi):
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "query":
                continue
            reply = send(client, world, method, f"{path}?{parameter['name']}=1%002", operation, "")
            error = refused(app, before, reply, 422, "invalid")
            assert parameter["name"] in error["details"]["fields"], (method, path, error)
            checked += 1
    assert checked >= 15


def _as_json(body: dict) -> str:
    """JSON with every non-ASCII character escaped, so "\ud800" goes out as the escape."""
    return json.dumps(body, ensure_ascii=True)


def test_the_writes_of_the_issue_refuse_a_lone_surrogate(app, client, world, wechat):
    """The reproductions of issue 9: each body is accepted with plain text (checked last), and
    refused with a lone surrogate in the named field, writing nothing."""
    h = world.headers
    consultation = client.post(
        f"/api/v1/projects/{world.construction}/consultations",
        json={"kind": "plan_satisfaction", "plan_id": world.plan},
        headers=h["clerk"],
    ).get_json()["id"]
    assert (
        client.post(f"/api/v1/consultations/{consultation}/open", headers=h["clerk"]).status_code
        == 200
    )
    wechat.codes["surrogate-code"] = "openid-surrogate"
    cases = [
        ("POST", "/api/v1/counties", "prefecture", {"name": "丙县"}, "name"),
        (
            "PUT",
            f"/api/v1/consultations/{consultation}/ballot",
            "resident_member",
            {"choice": "satisfied", "comment": "很好"},
            "comment",
        ),
        (
            "POST",
            f"/api/v1/projects/{world.construction}/comments",
            "resident_member",
            {"body": "希望加装电梯"},
            "body",
        ),
        (
            "POST",
            f"/api/v1/projects/{world.construction}/problems",
            "resident_member",
            {"description": "楼道灯不亮", "location": "1单元"},
            "description",
        ),
        (
            "POST",
            "/api/v1/notices",
            "clerk",
            {"estate_id": world.estate, "category": "general", "title": "停水", "body": "明天"},
            "title",
        ),
        ("POST", "/api/v1/auth/wechat-login", "anonymous", {"code": "surrogate-code"}, "code"),
        (
            "POST",
            "/api/v1/auth/wechat-login",
            "anonymous",
            {"code": "surrogate-code", "nickname": "小张"},
            "nickname",
        ),
        (
            "POST",
            "/api/v1/auth/staff-login",
            "anonymous",
            {"username": "prefecture", "password": "x"},
            "username",
        ),
    ]
    before = snapshot(app)
    for method, path, actor, body, field in cases:
        bad = {**body, field: SURROGATE}
        reply = raw_json(client, method, path, _as_json(bad), h[actor])
        error = refused(app, before, reply, 422, "invalid")
        assert "不成对的代理字符" in error["details"]["fields"][field][0], (path, error)
    for method, path, actor, body, _ in cases[:-1]:  # a wrong password is a 401, not a write
        reply = raw_json(client, method, path, _as_json(body), h[actor])
        assert reply.status_code in (200, 201), (path, reply.get_json())


def test_text_fields_refuse_unstorable_text_at_the_schema_too():
    """The kernel's Text refuses what the parser refuses, for callers that load a schema
    without a request (and in case a body reaches one another way)."""
    import marshmallow as ma

    from api.core.fields import text

    field = text(10)
    for bad in ("\ud800", "a\udfffb", "a\x00"):
        with pytest.raises(ma.ValidationError):
            field.deserialize(bad)
    assert field.deserialize(" 好😀 ") == "好😀"  # a real surrogate pair is one character


def test_every_field_that_refuses_blank_text_documents_min_length(client, world, openapi):
    """Item 12: blank text is refused (422 "不能为空白"), so the document says
    `minLength: 1`, and a client or fuzzer knows "" is no value."""
    undocumented = []
    refusing = 0
    for method, path, operation in json_operations(openapi):
        for where, schema in leaves(openapi, json_body_schema(openapi, operation)):
            if schema.get("type") != "string" or schema.get("format"):
                continue
            reply = send(client, world, method, path, operation, json.dumps(body_at(where, " ")))
            try:
                messages = error_at(reply.get_json()["error"], where)
            except (KeyError, TypeError):
                continue
            if "不能为空白" in messages:
                refusing += 1
                if schema.get("minLength", 0) < 1:
                    undocumented.append(f"{method} {path} {where}")
    assert refusing >= 45
    assert undocumented == []


# --- items 5 and 9: JSON that Python cannot read without help ---------------------------------


def test_deep_nesting_is_400_everywhere_including_both_sign_ins(app, client, world, openapi):
    before = snapshot(app)
    deep_list = "[" * 100_000 + "]" * 100_000
    deep_object = '{"a":' * 50_000 + "1" + "}" * 50_000
    for method, path, operation in json_operations(openapi):
        for text in (deep_list, deep_object):
            reply = send(client, world, method, path, operation, text)
            error = refused(app, before, reply, 400, "malformed_request")
            assert error["details"] == {"reason": "too_deep"}, (method, path, error)
            assert error["message"] == "请求内容嵌套过深"


def test_nesting_python_can_read_is_a_422_for_the_field(app, client, world):
    before = snapshot(app)
    text = '{"name": ' + "[" * 500 + "]" * 500 + "}"
    reply = raw_json(client, "POST", "/api/v1/counties", text, world.headers["prefecture"])
    error = refused(app, before, reply, 422, "invalid")
    assert "name" in error["details"]["fields"]


def test_an_integer_of_thousands_of_digits_is_400_everywhere(app, client, world, openapi):
    before = snapshot(app)
    for method, path, operation in json_operations(openapi):
        reply = send(client, world, method, path, operation, '{"x": ' + "9" * 5000 + "}")
        error = refused(app, before, reply, 400, "malformed_request")
        assert error["details"] == {"reason": "number_too_long"}, (method, path, error)
        assert error["message"] == "请求中的数字位数过多"


def project_body(estate_ids: str = "1", amount: str = "1") -> str:
    """A project as JSON text, with `estate_ids` and a funding `amount` written as given."""
    return (
        '{"name": "丙", "estate_ids": [' + estate_ids + '], "category": "basic", '
        '"plan_year": 2027, "funding": [{"source": "government", "amount": ' + amount + "}]}"
    )


def test_long_numbers_python_reads_are_422_for_the_field(app, client, world):
    before = snapshot(app)
    h = world.headers
    for number in ("9" * 4000, "-" + "9" * 4000, "1e999", "-1e999", "1" + "0" * 400 + ".5"):
        for path, actor, text in (
            ("/api/v1/communities", "prefecture", '{"county_id": ' + number + ', "name": "丙"}'),
            ("/api/v1/projects", "owner", project_body(estate_ids=number)),
            ("/api/v1/projects", "owner", project_body(str(world.estate), amount=number)),
        ):
            reply = raw_json(client, "POST", path, text, h[actor])
            error = refused(app, before, reply, 422, "invalid")
            assert error["details"]["fields"], error


def test_nan_and_infinity_are_not_json(app, client, world):
    """Python's reader takes NaN and Infinity; JSON has neither (RFC 8259)."""
    before = snapshot(app)
    for constant in ("NaN", "Infinity", "-Infinity"):
        text = project_body(str(world.estate), amount=constant)
        reply = raw_json(client, "POST", "/api/v1/projects", text, world.headers["owner"])
        error = refused(app, before, reply, 400, "malformed_request")
        assert error["details"] == {"reason": "invalid_json"}


# --- item 8: dates far from the service's years -----------------------------------------------


def test_far_dates_are_422_in_every_date_field(app, client, world, openapi):
    before = snapshot(app)
    checked = 0
    for method, path, operation in json_operations(openapi):
        for where, schema in leaves(openapi, json_body_schema(openapi, operation)):
            far = {"date": FAR_DATES, "date-time": FAR_TIMES}.get(schema.get("format"))
            for value in far or ():
                body = body_at(where, value)
                reply = send(client, world, method, path, operation, json.dumps(body))
                error = refused(app, before, reply, 422, "invalid")
                assert "须在2000-01-01至2100-12-31之间" in error_at(error, where)[0], error
                checked += 1
    assert checked >= 8 * 4


def test_far_dates_on_the_writes_of_the_issue(app, client, world):
    """`opens_at` and `publish_at` that overflowed when turned into UTC (a 500 before)."""
    h = world.headers
    before = snapshot(app)
    # Past a plan satisfaction consultation's minimum voting period (GATE_MIN_OPEN_DAYS).
    soon = (utcnow() + timedelta(days=10)).isoformat()
    consultation = {"kind": "plan_satisfaction", "plan_id": world.plan}
    notice = {"estate_id": world.estate, "category": "general", "title": "停水", "body": "明天"}
    cases = [
        (f"/api/v1/projects/{world.construction}/consultations", consultation, "opens_at"),
        (f"/api/v1/projects/{world.construction}/consultations", consultation, "closes_at"),
        ("/api/v1/notices", notice, "publish_at"),
        ("/api/v1/notices", notice, "expires_at"),
    ]
    for path, body, field in cases:
        for value in FAR_TIMES[:2]:
            reply = client.post(path, json={**body, field: value}, headers=h["clerk"])
            error = refused(app, before, reply, 422, "invalid")
            assert field in error["details"]["fields"], error
    for path, body, field in cases:  # the same bodies with a near time are taken
        reply = client.post(path, json={**body, field: soon}, headers=h["clerk"])
        assert reply.status_code == 201, (field, reply.get_json())


def test_a_time_within_range_is_read_in_utc():
    from datetime import UTC, datetime

    from api.core.fields import DateTime

    loaded = DateTime().deserialize("2100-12-31T23:59:59+00:00")
    assert loaded == datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert DateTime().deserialize("2030-01-01T08:00:00+08:00").tzinfo is UTC


# --- item 10: ids in query strings -----------------------------------------------------------


def test_every_integer_query_parameter_takes_its_text_form(app, client, world, openapi):
    """A query string is text: `?community_id=1` must be the id 1, never "Not a valid
    integer" (the filters refused every value before)."""
    checked = []
    for method, path, operation in operations(openapi):
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "query" or parameter["schema"].get("type") != "integer":
                continue
            # The smallest value the parameter takes (1 for an id, 2000 for a plan year).
            value = parameter["schema"].get("minimum", 1)
            query = f"{parameter['name']}={value}"
            reply = send(client, world, method, f"{path}?{query}", operation, "")
            fields = (reply.get_json().get("error") or {}).get("details", {}).get("fields", {})
            assert parameter["name"] not in fields, (method, path, reply.get_json())
            checked.append(parameter["name"])
    assert {"community_id", "county_id", "household_id", "estate_id", "project_id"} <= set(checked)


def test_the_place_filters_filter(client, world):
    h = world.headers["resident_member"]
    reply = client.get(f"/api/v1/estates?community_id={world.community}", headers=h)
    assert reply.status_code == 200, reply.get_json()
    assert [e["id"] for e in reply.get_json()["items"]] == [world.estate]
    everything = client.get("/api/v1/estates", headers=h).get_json()["items"]
    assert {e["id"] for e in everything} == {world.estate, world.other_estate}

    reply = client.get(f"/api/v1/communities?county_id={world.county}", headers=h)
    assert reply.status_code == 200, reply.get_json()
    assert [c["id"] for c in reply.get_json()["items"]] == [world.community]

    for path in ("/api/v1/estates?community_id=0", "/api/v1/communities?county_id=x"):
        error = client.get(path, headers=h).get_json()["error"]
        assert error["code"] == "invalid"


def test_my_rating_by_household(client, world):
    h = world.headers["supervisor"]
    path = f"/api/v1/projects/{world.completed}/ratings/mine"
    reply = client.get(f"{path}?household_id={world.households['supervisor']}", headers=h)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["household_id"] == world.households["supervisor"]
    reply = client.get(f"{path}?household_id={world.households['neighbour']}", headers=h)
    assert reply.get_json()["error"]["code"] == "not_household_member"


# --- item 13: how a body comes ----------------------------------------------------------------


def test_json_sent_as_another_type_is_415_in_chinese(app, client, world, openapi):
    before = snapshot(app)
    for method, path, operation in json_operations(openapi):
        for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
            reply = send(
                client,
                world,
                method,
                path,
                operation,
                '{"name": "丙县"}',
                content_type=content_type,
            )
            error = refused(app, before, reply, 415, "unsupported_media_type")
            assert error["message"] == "请以 JSON 格式提交（Content-Type: application/json）"
            assert error["details"]["expected"] == "application/json"


def test_an_empty_body_of_any_type_is_read_as_no_fields(app, client, world):
    """Nothing sent is not a type mismatch: the answer names the missing fields, as before."""
    before = snapshot(app)
    reply = client.post(
        "/api/v1/counties", data=b"", content_type="text/plain", headers=world.headers["prefecture"]
    )
    error = refused(app, before, reply, 422, "invalid")
    assert "name" in error["details"]["fields"]


def _chunked(client, path, body: bytes, headers):
    """A body without Content-Length, as gunicorn hands a chunked one to the app."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_1_MiB_is_413(app, client, world):
    before = snapshot(app)
    h = world.headers["prefecture"]
    for size in (MiB - 10, 2 * MiB):  # the body is 11 bytes more than the padding: 1 MiB + 1
        body = b'{"name":"' + b"x" * size + b'"}'
        error = refused(app, before, _chunked(client, "/api/v1/counties", body, h), 413)
        assert error["code"] == "payload_too_large" and error["details"]["limit_bytes"] == MiB
    # exactly 1 MiB is read whole: the answer is about the name, not the body
    body = b'{"name":"' + b"x" * (MiB - 11) + b'"}'
    assert len(body) == MiB
    error = refused(app, before, _chunked(client, "/api/v1/counties", body, h), 422)
    assert "name" in error["details"]["fields"]
    reply = _chunked(client, "/api/v1/counties", '{"name":"丙县"}'.encode(), h)
    assert reply.status_code == 201, reply.get_json()


def test_an_address_or_headers_over_the_limits_are_answered_in_json(app, client, world):
    h = world.headers["resident_member"]
    before = snapshot(app)
    reply = client.get("/api/v1/estates?x=" + "a" * 4096, headers=h)
    error = refused(app, before, reply, 414, "uri_too_long")
    assert error["message"] == "请求地址过长"
    assert client.get("/api/v1/estates?x=" + "a" * 4000, headers=h).status_code == 200
    for headers in ({"X-Big": "a" * 8190}, {f"X-{i}": "1" for i in range(100)}):
        reply = client.get("/api/v1/estates", headers={**h, **headers})
        error = refused(app, before, reply, 431, "headers_too_large")
        assert error["message"] == "请求头过大"
    assert client.get("/api/v1/estates", headers={**h, "X-Big": "a" * 8000}).status_code == 200
