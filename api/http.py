"""The HTTP conventions every blueprint shares: the error shape, body limits, pagination.

Every error, whatever raised it, leaves as
`{"error": {"code": "...", "message": "<Chinese>", "details": {...}}}` and never as HTML.
"""

from __future__ import annotations

import logging

import flask_smorest
import marshmallow as ma
from flask import Flask, current_app, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from api.core import DomainError, db

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
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("invalid", "提交的内容有误"),
    429: ("rate_limited", "操作过于频繁，请稍后再试"),
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
    if messages:
        if status == 400:
            details = {"reason": "invalid_json"}
            message = "请求内容不是有效的 JSON"
        else:
            details = {"fields": _flatten_messages(messages)}
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
    """Refuse a declared body over the limit before anything reads it (413)."""
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and getattr(view, "_accepts_upload", False):
        request.max_content_length = current_app.config["UPLOAD_MAX_CONTENT_LENGTH"]
        request.max_form_memory_size = current_app.config["UPLOAD_MAX_CONTENT_LENGTH"]
    limit = request.max_content_length
    if request.content_length is not None and limit is not None and request.content_length > limit:
        return error_response(413, *HTTP_ERRORS[413], {"limit_bytes": limit})
    return None


# --- blueprints and pagination -----------------------------------------------------------


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint with our error responses documented per endpoint."""

    def errors(self, *statuses: int):
        """Document the error answers an endpoint may give, in the one error shape."""

        def decorator(view):
            for status in statuses:
                view = self.alt_response(
                    status, schema=ErrorSchema, description=HTTP_ERRORS[status][1]
                )(view)
            return view

        return decorator


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


def page_schema(item_schema, name: str):
    """A schema for one page of `item_schema`: `{"items", "page", "per_page", "total"}`."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "page": ma.fields.Integer(),
            "per_page": ma.fields.Integer(),
            "total": ma.fields.Integer(),
        },
        name=name,
    )


def paginate(statement, args) -> dict:
    """Run `statement` for one page; the envelope `page_schema` dumps."""
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    items = db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "page": page, "per_page": per_page, "total": total}
