"""The HTTP conventions every blueprint shares: the error shape, how a JSON body is read,
request limits, pagination.

Every error, whatever raised it, leaves as
`{"error": {"code": "...", "message": "<Chinese>", "details": {...}}}` and never as HTML; a
422's `details.fields` gives each refused field its messages, in Chinese too (`api.core.i18n`).
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import flask_smorest
import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_instance
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flask import Flask, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    RequestHeaderFieldsTooLarge,
    RequestURITooLarge,
    UnprocessableEntity,
    UnsupportedMediaType,
)

from api.core import DomainError, db
from api.core.fields import unstorable
from api.core.i18n import localise

log = logging.getLogger(__name__)

# status -> (code, message) for errors raised by the framework rather than by our code
HTTP_ERRORS = {
    400: ("malformed_request", "请求格式有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限进行此操作"),
    404: ("not_found", "找不到该记录"),
    405: ("method_not_allowed", "不支持此请求方法"),
    409: ("conflict", "当前状态不允许此操作"),
    413: ("payload_too_large", "提交的内容过大"),
    414: ("uri_too_long", "请求地址过长"),
    415: ("unsupported_media_type", "请以 JSON 格式提交（Content-Type: application/json）"),
    422: ("invalid", "提交的内容有误"),
    429: ("rate_limited", "操作过于频繁，请稍后再试"),
    431: ("headers_too_large", "请求头过大"),
    500: ("internal_error", "服务器出错了，请稍后再试"),
    503: ("unavailable", "服务暂时不可用，请稍后再试"),
}


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "stable English code"})
    message = ma.fields.String(required=True, metadata={"description": "为居民和工作人员写的说明"})
    details = ma.fields.Dict(metadata={"description": "what was wrong, e.g. fields or rows"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


def error_response(status: int, code: str, message: str, details=None, headers=None):
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten_messages(messages):
    """webargs nests field errors under their location ("json", "query", ...)."""
    if isinstance(messages, dict) and set(messages) <= {
        "json",
        "query",
        "form",
        "files",
        "view_args",
    }:
        flat = {}
        for value in messages.values():
            if isinstance(value, dict):
                flat.update(value)
            else:
                flat.setdefault("_schema", []).extend(value if isinstance(value, list) else [value])
        return flat
    return messages


def handle_domain_error(exc: DomainError):
    db.session.rollback()
    return error_response(exc.status, exc.code, exc.message, exc.details)


def handle_http_exception(exc: HTTPException):
    db.session.rollback()
    status = exc.code or 500
    code, message = HTTP_ERRORS.get(status, (exc.name.lower().replace(" ", "_"), exc.description))
    details = {}
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if isinstance(exc, MalformedJSON):
        details = {"reason": exc.reason}
        message = exc.message
    elif messages:
        if status == 400:
            details = {"reason": "invalid_json"}
            message = "请求内容不是有效的 JSON"
        else:
            # marshmallow's and webargs' messages in Chinese (ours already are)
            details = {"fields": localise(_flatten_messages(messages))}
    elif "details" in data:
        details = data["details"]
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 429:
        retry = getattr(exc, "retry_after", None)
        if retry:
            headers["Retry-After"] = str(retry)
    return error_response(status, code, message, details, headers)


def handle_integrity_error(exc: IntegrityError):
    # Two requests raced past a check that a database constraint then enforced.
    db.session.rollback()
    log.info("integrity conflict: %s", exc.orig.__class__.__name__)
    return error_response(409, "conflict", "数据刚被修改，请刷新后重试")


def handle_operational_error(exc: OperationalError):
    db.session.rollback()
    log.error("database unavailable: %s", exc.orig.__class__.__name__)
    return error_response(503, "database_unavailable", "服务暂时不可用，请稍后再试")


def handle_unexpected(exc: Exception):
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, *HTTP_ERRORS[500])


def install_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(OperationalError, handle_operational_error)
    app.register_error_handler(Exception, handle_unexpected)


# --- body limits -------------------------------------------------------------------------

_UPLOAD_ENDPOINTS: set = set()


def allow_upload(view):
    """Mark a view that takes a file upload: its body limit is UPLOAD_MAX_CONTENT_LENGTH."""
    view._accepts_upload = True
    return view


def enforce_body_limit():
    """Refuse a body over the limit before a view reads it (413): a declared one by its
    Content-Length, a chunked one by reading it up to the limit and one byte more."""
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and getattr(view, "_accepts_upload", False):
        request.max_content_length = current_app.config["UPLOAD_MAX_CONTENT_LENGTH"]
        request.max_form_memory_size = current_app.config["UPLOAD_MAX_CONTENT_LENGTH"]
    limit = request.max_content_length
    too_large = error_response(413, *HTTP_ERRORS[413], {"limit_bytes": limit})
    if limit is None:
        return None
    if request.content_length is not None:
        return too_large if request.content_length > limit else None
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # werkzeug stops reading a chunked body at the limit without a word, which would
        # leave a cut-off body to parse: read it here (the views then read the cached copy)
        # and look one byte past the limit.
        body = request.get_data(cache=True)
        if len(body) >= limit and request.environ["wsgi.input"].read(1):
            return too_large
    return None


# gunicorn's own limits (scripts/gunicorn.conf.py) are twice these, so that a request over them
# gets this JSON answer rather than gunicorn's HTML page.
MAX_REQUEST_TARGET_BYTES = 4096  # path and query string
MAX_HEADER_FIELDS = 100
MAX_HEADER_FIELD_BYTES = 8190  # name and value of one header


def enforce_request_limits():
    """Refuse an over-long address (414) and too many or too large headers (431)."""
    environ = request.environ
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
    if len(target) > MAX_REQUEST_TARGET_BYTES:
        raise RequestURITooLarge()
    if len(request.headers) > MAX_HEADER_FIELDS:
        raise RequestHeaderFieldsTooLarge()
    for name, value in request.headers.items():
        if len(name) + len(value) > MAX_HEADER_FIELD_BYTES:
            raise RequestHeaderFieldsTooLarge()


# --- JSON bodies -------------------------------------------------------------------------


class MalformedJSON(BadRequest, ValueError):
    """A body that is not JSON this API reads (400): why, as a `reason` and in Chinese.

    A ValueError too, so that `request.get_json(silent=True)` answers None for it."""

    def __init__(self, reason: str = "invalid_json", message: str = "请求内容不是有效的 JSON"):
        super().__init__()
        self.reason = reason
        self.message = message


def _no_constants(name):
    raise MalformedJSON()  # NaN and Infinity are not JSON (RFC 8259), though Python reads them


def load_json(raw: bytes | str):
    """`raw` parsed as strict JSON (UTF-8), or `MalformedJSON`: never a RecursionError for
    deep nesting nor a ValueError for a number of thousands of digits."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
        return json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise MalformedJSON("too_deep", "请求内容嵌套过深") from None
    except MalformedJSON:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedJSON() from None
    except ValueError:  # Python's cap on the digits of an integer (4,300)
        raise MalformedJSON("number_too_long", "请求中的数字位数过多") from None


# Deeper than any schema of this API reads: what lies below is refused by the schema (an
# unknown field or a wrong type) without being stored or echoed, so the walk stops there.
_WALK_DEPTH = 32


def _printable(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode()


def _unstorable_strings(value, depth: int = 0) -> dict:
    """Where `value` (parsed JSON) holds text that cannot be stored, nested as marshmallow
    nests its errors: `{"name": [why]}`, `{"items": {0: {"note": [why]}}}`. A bad key is shown
    escaped, so that the reply itself can be encoded."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return {}
    problems = {}
    for key, item in items:
        if isinstance(key, str) and unstorable(key):
            problems[_printable(key)] = [unstorable(key)]
        elif isinstance(item, str):
            if why := unstorable(item):
                problems[key] = [why]
        elif depth < _WALK_DEPTH and (inner := _unstorable_strings(item, depth + 1)):
            problems[key] = inner
    return problems


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON with Chinese left readable, reading bodies as `load_json` does (so that
    `request.get_json` cannot fail on nesting or long numbers either)."""

    ensure_ascii = False

    def loads(self, s, **kwargs):
        return load_json(s)


class ArgumentsParser(FlaskParser):
    """webargs' parser, reading JSON bodies through `load_json`.

    - a body that is not sent as JSON: 415 (it would otherwise be ignored, and the reply would
      say that required fields were missing);
    - NUL or a lone surrogate in any string or key: 422 naming where (nothing could store it);
    - a query string with a NUL or lone surrogate: 422 likewise.
    """

    def _raw_load_json(self, req):
        raw = req.get_data(cache=True)
        if not raw:
            return webargs_core.missing
        if not webargs_core.is_json(req.mimetype):
            error = UnsupportedMediaType()
            error.data = {"details": {"content_type": req.mimetype, "expected": "application/json"}}
            raise error
        data = load_json(raw)
        # Only a \u escape can put a NUL or a lone surrogate in parsed JSON: strict UTF-8
        # refuses an encoded surrogate, and JSON refuses a raw control character.
        if b"\\u" in raw and (problems := _unstorable_strings(data)):
            _refuse_fields(problems)
        return data

    def load_querystring(self, req, schema):
        problems = {}
        for key, value in req.args.items(multi=True):
            if why := unstorable(key) or unstorable(value):
                problems[_printable(key)] = [why]
        if problems:
            _refuse_fields(problems)
        return super().load_querystring(req, schema)


def _refuse_fields(problems: dict):
    error = UnprocessableEntity()
    error.data = {"messages": {"json": problems}}
    raise error


# --- blueprints, the OpenAPI document and pagination -------------------------------------


def decimal_bounds_as_numbers(self, field, ret, **kwargs) -> dict:
    """apispec writes a Decimal field's `minimum`/`maximum` as the field serializes them, a
    Decimal, which JSON then shows as a string ("100000000000.00"): the document would be
    invalid. Give them as numbers."""
    return {
        key: int(value) if value == value.to_integral_value() else float(value)
        for key, value in ret.items()
        if key in ("minimum", "maximum") and isinstance(value, Decimal)
    }


class _Converter(OpenAPIConverter):
    def schema2jsonschema(self, schema):
        """apispec drops `additionalProperties: false` from a schema that has a description
        (`Meta.description`); unknown fields are refused all the same, so say so."""
        jsonschema = super().schema2jsonschema(schema)
        unknown = resolve_schema_instance(schema).unknown
        if unknown != ma.EXCLUDE:
            jsonschema.setdefault("additionalProperties", unknown == ma.INCLUDE)
        return jsonschema


class SpecPlugin(MarshmallowPlugin):
    """apispec's marshmallow plugin, taught what it does not know of our schemas (give it to
    the Api as `spec_kwargs={"marshmallow_plugin": SpecPlugin()}`)."""

    Converter = _Converter

    def init_spec(self, spec):
        super().init_spec(spec)
        self.converter.add_attribute_function(decimal_bounds_as_numbers)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint with our error responses documented per endpoint, reading
    arguments with `ArgumentsParser`."""

    ARGUMENTS_PARSER = ArgumentsParser()

    def errors(self, *statuses: int):
        """Document the error answers an endpoint may give, in the one error shape."""

        def decorator(view):
            for status in statuses:
                view = self.alt_response(
                    status, schema=ErrorSchema, description=HTTP_ERRORS[status][1]
                )(view)
            return view

        return decorator


# The one paging convention, said once in the OpenAPI document (`info.description`, set by
# `create_app`) and kept by tests/shell/test_paging.py for every operation of the document.
PAGING = (
    "Paging. Every list that can grow is paged the same way: the query string takes `page` "
    "(from 1, default 1) and `per_page` (1 to 100, default 20), out of range is 422; the "
    "reply is `{items, page, per_page, total}`, where `total` counts the items of every page "
    "(a page past the end has no items and the same total). A list bounded by what it "
    "describes (the buildings, units and rooms of a pick list, the caller's own claims, the "
    "members an owner may name as delegate, a project's plan versions) is a bare array."
)
ERRORS = (
    "Errors. Every error is `{error: {code, message, details}}`: `code` a stable English "
    "code, `message` in Chinese for the person using the app, `details` what was wrong."
)
API_DESCRIPTION = f"{ERRORS}\n\n{PAGING}"


class PageArgs(ma.Schema):
    """The paging of a list (`PAGING`)."""

    page = ma.fields.Integer(
        load_default=1,
        validate=ma.validate.Range(min=1, max=100_000),
        metadata={"description": "which page, from 1"},
    )
    per_page = ma.fields.Integer(
        load_default=20,
        validate=ma.validate.Range(min=1, max=100),
        metadata={"description": "items a page, 1 to 100"},
    )


def page_schema(item_schema, name: str):
    """A schema for one page of `item_schema`: `{"items", "page", "per_page", "total"}`."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "page": ma.fields.Integer(metadata={"description": "this page, from 1"}),
            "per_page": ma.fields.Integer(metadata={"description": "items a page asked for"}),
            "total": ma.fields.Integer(metadata={"description": "items of every page"}),
        },
        name=name,
    )


def paginate(statement, args) -> dict:
    """Run `statement` for one page; the envelope `page_schema` dumps."""
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    items = db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "page": page, "per_page": per_page, "total": total}
