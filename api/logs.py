"""Logs: one line per event, as text or as one JSON object (`LOG_FORMAT`), each naming its request.

- Every request gets an id: a sane `X-Request-ID` from the proxy in front, or a new one. The
  reply carries it back in `X-Request-ID`; every log line written while the request is served
  names it, and so do the lines of the jobs it enqueued (`api.core.trace`, `api.jobs`).
- One line per answered request (method, path, status, milliseconds) on the `api.access`
  logger: the access log. The probes (`/healthz`, `/readyz`, `/metrics`) log it at DEBUG.
- `configure` sets the root logger's one handler (stderr). Logging is the process's, not the
  app's: the last app built decides the format (tests build several).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter

from api.core.trace import bind_request_id, current_request_id, unbind_request_id

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy sends (nginx's $request_id, a UUID, a trace id): anything else is replaced.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")
PROBES = frozenset({"ops.healthz", "ops.readyz", "ops.metrics"})
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

access_log = logging.getLogger("api.access")


class _RequestIdFilter(logging.Filter):
    """Gives every record the id of the request (or the request's job) that wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.request_tag = f" [{record.request_id}]" if record.request_id else ""
        return super().format(record)


class _JsonFormatter(JsonFormatter):
    """time (ISO 8601, UTC), level, logger, message, request_id, exception (the traceback, when
    there is one) and any `extra` fields, one object per line."""

    def formatTime(self, record: logging.LogRecord, datefmt=None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return _JsonFormatter(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
            },
            json_ensure_ascii=False,
        )
    return _TextFormatter("%(asctime)s %(levelname)s %(name)s%(request_tag)s %(message)s")


class _AppHandler(logging.StreamHandler):
    """The root logger's handler this module installs (found again by its class)."""


def configure(log_format: str = "text", level: str = "INFO") -> logging.Handler:
    """Make the root logger write `log_format` lines of `level` and above to stderr.

    Installs one handler and reconfigures it on later calls, so that several apps in one
    process do not write each line several times."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _AppHandler)), None)
    if handler is None:
        handler = _AppHandler(sys.stderr)
        handler.addFilter(_RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(_formatter(log_format))
    root.setLevel(level)
    return handler


# --- request ids and the access log -------------------------------------------------------


def _start_request():
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_id = request_id
    g.request_id_token = bind_request_id(request_id)
    g.request_started = time.perf_counter()


def _finish_request(response):
    request_id = g.get("request_id")
    if request_id is None:
        return response
    response.headers[REQUEST_ID_HEADER] = request_id
    took_ms = round((time.perf_counter() - g.request_started) * 1000, 1)
    # Quoted and cut short: a path is the client's text, and a log line is one line.
    path = quote(request.path, safe="/:@!$&'()*+,;=-._~")[:512]
    access_log.log(
        logging.DEBUG if request.endpoint in PROBES else logging.INFO,
        "%s %s %s %.0f ms",
        request.method,
        path,
        response.status_code,
        took_ms,
        extra={
            "method": request.method,
            "path": path,
            "status": response.status_code,
            "duration_ms": took_ms,
        },
    )
    return response


def _end_request(_exc=None):
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            unbind_request_id(token)
        except ValueError:  # bound in another context: forget it there instead
            bind_request_id(None)


def install_request_ids(app: Flask) -> None:
    """Give each request of `app` its id before anything else runs (so the rate limiter's
    and the body limit's lines carry it too), echo it in the reply and log the request."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)
