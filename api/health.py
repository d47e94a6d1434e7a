"""Readiness: does the database answer, is its schema at the newest migration, does Redis
answer; each within a second, whatever the dependency does.

Each check runs in a daemon thread the caller waits on for at most `TIMEOUT` seconds, so a
hung server (a stopped PostgreSQL, a Redis that accepts and never replies) costs a probe one
second and never the process more than one stuck thread per dependency: while a check has not
come back, the next probe fails at once instead of starting another.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import lru_cache

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import inspect, text

from api.core import db

log = logging.getLogger(__name__)

TIMEOUT = 1.0
VERSION_TABLE = "alembic_version"  # where Flask-Migrate records the migrations applied


@lru_cache(maxsize=4)
def newest_migrations(directory: str) -> frozenset[str]:
    """The head revisions of the migrations in `directory` (read once per process)."""
    return frozenset(ScriptDirectory(directory).get_heads())


class _Probe:
    """One dependency's check, run in its own thread; at most one at a time."""

    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self._running = False

    def start(self, check: Callable[[], object]) -> Callable[[float], tuple[bool, object]]:
        """Start `check`; the returned function waits until `deadline` (time.monotonic) and
        gives `(True, its value)` or `(False, why not)`."""
        with self._lock:
            if self._running:
                return lambda deadline: (False, "the previous check has not answered yet")
            self._running = True
        outcome: list = []
        done = threading.Event()

        def run():
            try:
                outcome.append((True, check()))
            except Exception as exc:
                log.warning("readiness: %s failed: %r", self.name, exc)
                outcome.append((False, f"unreachable ({type(exc).__name__})"))
            finally:
                with self._lock:
                    self._running = False
                done.set()

        threading.Thread(target=run, name=f"readyz-{self.name}", daemon=True).start()

        def wait(deadline: float) -> tuple[bool, object]:
            if not done.wait(max(deadline - time.monotonic(), 0)):
                log.warning("readiness: %s gave no answer within %g s", self.name, TIMEOUT)
                return False, f"no answer within {TIMEOUT:g} s"
            return outcome[0]

        return wait


class Readiness:
    """An app's readiness checks (one per app: each holds its own probe threads)."""

    def __init__(self):
        self._database = _Probe("database")
        self._redis = _Probe("redis")

    def check(self) -> dict[str, str]:
        """{"database", "migrations"[, "redis"]: "ok" or the reason}, within `TIMEOUT`
        seconds; Redis only when `REDIS_URL` is set. Needs an app context."""
        engine, redis = db.engine, current_app.extensions["redis"]
        newest = newest_migrations(current_app.extensions["migrate"].directory)

        def database():
            with engine.connect() as connection:
                if not inspect(connection).has_table(VERSION_TABLE):
                    return frozenset()
                return frozenset(
                    connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}"))
                )

        waits = {"database": self._database.start(database)}
        if redis is not None:
            waits["redis"] = self._redis.start(redis.ping)
        deadline = time.monotonic() + TIMEOUT
        outcomes = {name: wait(deadline) for name, wait in waits.items()}

        answered, current = outcomes.pop("database")
        checks = {"database": "ok" if answered else current}
        if not answered:
            checks["migrations"] = "unknown: the database did not answer"
        elif current != newest:
            at = ", ".join(sorted(current)) or "no migration"
            checks["migrations"] = f"not the newest: at {at}, newest {', '.join(sorted(newest))}"
        else:
            checks["migrations"] = "ok"
        for name, (answered, why) in outcomes.items():
            checks[name] = "ok" if answered else why
        return checks
