"""The database pool: each connection pinged as it is checked out, as `pool_pre_ping` would,
except for the ballot (`no_pre_ping`), whose every round trip counts (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.pool import QueuePool

_SKIP_PING: ContextVar[bool] = ContextVar("skip_pre_ping", default=False)


@contextmanager
def no_pre_ping() -> Iterator[None]:
    """Connections checked out inside this block are not pinged first.

    For the ballot, whose every round trip counts (issue 11): it recovers from a dead
    connection itself, by running its transaction again once when its first statement finds
    the connection dropped (`voting.service.ballots._read_context`), before anything was
    written. Every other path keeps the ping.
    """
    token = _SKIP_PING.set(True)
    try:
        yield
    finally:
        _SKIP_PING.reset(token)


def _ping(dbapi_connection, connection_record, connection_proxy) -> None:
    """What `pool_pre_ping` does, on checkout, unless under `no_pre_ping()`: a dead connection
    invalidates the pool (every connection older than now is replaced), and the pool checks
    out a new one."""
    if _SKIP_PING.get():
        return
    try:
        # In autocommit, so that the ping leaves no transaction open behind it: the connection
        # is handed out idle, as it was checked in (a VACUUM or any AUTOCOMMIT use may follow).
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            dbapi_connection.execute("SELECT 1")
        finally:
            dbapi_connection.autocommit = autocommit
    except Exception as exc:
        raise InvalidatePoolError(f"pre-ping failed: {type(exc).__name__}") from exc


class PingingPool(QueuePool):
    """The PostgreSQL pool: a `QueuePool` that pings each connection as it is checked out (as
    `pool_pre_ping` would) except under `no_pre_ping()`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not event.contains(self, "checkout", _ping):  # a recreated pool inherits it
            event.listen(self, "checkout", _ping)


def engine_options(backend: str) -> dict:
    """SQLAlchemy's engine options. Statement parameters (openids, names, phone digits) never
    reach an error message, a log or a failed job's record: only the statement does. A pooled
    connection is pinged before use, so a restarted database costs no failed request: on
    PostgreSQL by `PingingPool`, which the ballot skips (`no_pre_ping`)."""
    if backend == "postgresql":
        return {"poolclass": PingingPool, "pool_pre_ping": False, "hide_parameters": True}
    return {"pool_pre_ping": True, "hide_parameters": True}
