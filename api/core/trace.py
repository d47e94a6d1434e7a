"""The request id: which request a log line (or a job's log line) belongs to.

The shell binds it when a request starts (`api.logs`) and when a worker runs a job that a
request enqueued; `enqueue_after_commit` reads it so the job carries it. A context variable,
not `flask.g`: it is there outside an app context too (a worker between jobs, a log filter).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id bound in this context, or None outside any request or request's job."""
    return _request_id.get()


def bind_request_id(value: str | None) -> Token:
    """Bind `value` until `unbind_request_id(token)`."""
    return _request_id.set(value)


def unbind_request_id(token: Token) -> None:
    _request_id.reset(token)


@contextmanager
def request_id_bound(value: str | None) -> Iterator[None]:
    """Bind `value` for the `with` block (a job's run)."""
    token = bind_request_id(value)
    try:
        yield
    finally:
        unbind_request_id(token)
