"""Count the SQL statements the app's engine executes, for the statement-count tests (issue 11:
no timing is asserted in the suite; a read that gains a statement fails a test instead).

`count_statements(app)` listens to the engine's `before_cursor_execute` event while its block
runs and records every statement sent through a cursor, in order (`Statements.sql`). What it
leaves out of `Statements.count`, and why:

- The test harness's savepoints (`SAVEPOINT`, `RELEASE SAVEPOINT`, `ROLLBACK TO SAVEPOINT`):
  in a test every session of the app joins the test's rolled-back transaction through a
  savepoint (tests/support/database.py), where in production it would BEGIN and COMMIT. They
  are kept apart in `Statements.savepoints`. The app itself opens no savepoint (nothing in
  api/ or the domains calls `begin_nested`); a test that needs to see one reads `savepoints`.
- The jobs that run in this process after the commit when Redis is not configured (the
  embedded default: `api.jobs.InlineRunner`, e.g. the tally a ballot asks for): with Redis
  they run in a worker, not in the request. They are kept apart in `Statements.jobs`. Work a
  request does itself when no scheduler runs (the notices sweep of `GET /notices`) is counted:
  it is the request's own.
- Nothing else. `BEGIN` and `COMMIT` never reach this event (psycopg and pysqlite begin
  implicitly, and SQLAlchemy commits through the DBAPI connection, not a cursor), nor does the
  pool's pre-ping (`pool_pre_ping` pings through the raw DBAPI connection; in a test the
  connection is held for the whole test, so no checkout happens anyway). Statements run with
  `executemany` count once, as the one round trip SQLAlchemy makes of them.

Only the test's thread is counted: a job or a stray connection in another thread is not this
request's work (such a connection fails the test anyway, see `CleanSlate`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event

from api.core import db

_SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.I)


@dataclass
class Statements:
    """What the engine executed inside `count_statements`."""

    sql: list[str] = field(default_factory=list)  # counted statements, in order
    savepoints: list[str] = field(default_factory=list)  # the harness's, not counted
    jobs: list[str] = field(default_factory=list)  # in-process jobs' statements, not counted

    @property
    def count(self) -> int:
        return len(self.sql)

    def __str__(self) -> str:
        lines = [f"{len(self.sql)} statements:"]
        for n, statement in enumerate(self.sql, 1):
            lines.append(f"  {n}. {' '.join(statement.split())[:400]}")
        return "\n".join(lines)


@contextmanager
def count_statements(app) -> Iterator[Statements]:
    """Record the statements the app's engine runs in this thread inside the block."""
    with app.app_context():
        engine = db.engine
    found = Statements()
    thread = threading.get_ident()
    in_job = []
    runner = app.extensions["jobs"]

    def before(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() != thread:
            return
        if _SAVEPOINT.match(statement):
            found.savepoints.append(statement)
        elif in_job:
            found.jobs.append(statement)
        else:
            found.sql.append(statement)

    def submit(job, _submit=runner.submit):
        in_job.append(job)
        try:
            return _submit(job)
        finally:
            in_job.pop()

    event.listen(engine, "before_cursor_execute", before)
    if runner.inline:
        runner.submit = submit
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", before)
        if runner.inline:
            del runner.submit
