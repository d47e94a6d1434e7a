"""The session app's database in tests: every test starts from empty tables, as cheaply as the
test allows (Indico's pattern).

- By default a test runs inside one transaction of one connection, rolled back when it ends.
  Every SQLAlchemy session the app opens in the test's thread (one per app context) joins that
  transaction through a SAVEPOINT (`join_transaction_mode="create_savepoint"`): its `commit()`
  releases the savepoint and fires the session's commit hooks (jobs run, stored files stay) as a
  real commit does, and its rollback undoes only its own work. On SQLite the connection runs
  with pysqlite's own transaction handling off and an explicit BEGIN, without which savepoints
  do not nest.
- A test that needs real commits (another connection, thread or process, an RQ worker on
  Redis, a second engine on the same database) is marked `commits`, as every `services` test
  is: its tables are emptied before it, as they always were, and again before the next test
  that relies on them.
- A module may build its world once, in an outer transaction rolled back when the module ends
  (`begin_module`); each of its tests then runs in a savepoint rolled back to that world.

A connection the app checks out of the pool while a test runs in a rolled-back transaction
would not see the test's rows (and on SQLite could wait for its lock): it is reported as a
failure naming the marker to add.
"""

from __future__ import annotations

import functools
import threading
import traceback
from contextlib import contextmanager

from sqlalchemy import event, text

from api.core import db

COMMITS_HINT = (
    "mark the test @pytest.mark.commits: it runs in a transaction rolled back at its end, which "
    "another connection, thread or process cannot see"
)


class CleanSlate:
    """The clean slate of the session app's database (see the module docstring)."""

    def __init__(self, app):
        self.app = app
        with app.app_context():
            self.engine = db.engine
        self.dialect = self.engine.dialect.name
        self.dirty = True  # rows may have been committed: empty the tables before relying on it
        self.connection = None  # the connection the test's sessions join, while one runs
        self.thread = None
        self.module = None  # the module world's outer transaction
        self.test = None  # the test's transaction (or savepoint, inside a module world)
        self.module_maker = None  # the `Maker` of the module's world, while one is held
        self.strays: list[str] = []
        self._sequences: list[dict] = []
        self._sqlite_isolation = None
        self._connecting = False
        self._saved_factory = None

    # --- wiring ------------------------------------------------------------------------------

    def install(self) -> None:
        """Make the app's sessions join the test's connection while a test holds one."""
        factory = db.session.session_factory
        self._saved_factory = (factory.class_, dict(factory.kw))
        database = self

        class JoiningSession(factory.class_):
            def get_bind(self, *args, **kwargs):
                return database.bind_for(super().get_bind(*args, **kwargs))

        factory.class_ = JoiningSession
        factory.kw["join_transaction_mode"] = "create_savepoint"
        event.listen(self.engine, "checkout", self._checked_out)

    def uninstall(self) -> None:
        event.remove(self.engine, "checkout", self._checked_out)
        factory = db.session.session_factory
        factory.class_, factory.kw = self._saved_factory

    def bind_for(self, bind):
        """The test's connection for this engine in the test's thread; otherwise `bind`."""
        if (
            self.connection is not None
            and bind is self.engine
            and threading.get_ident() == self.thread
        ):
            return self.connection
        return bind

    def _checked_out(self, dbapi_connection, record, proxy) -> None:
        if self.connection is None or self._connecting:
            return
        where = "".join(traceback.format_stack(limit=12)[:-2])
        self.strays.append(
            f"a second connection to the test database, in thread "
            f"{threading.current_thread().name}; {COMMITS_HINT}.\n{where}"
        )

    # --- the clean slate ---------------------------------------------------------------------

    def empty(self) -> None:
        """Delete every row of every table (PostgreSQL: and restart the ids), committed."""
        with self.app.app_context():
            tables = list(reversed(db.metadata.sorted_tables))
            if self.dialect == "postgresql":
                names = ", ".join(t.name for t in tables)
                db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    db.session.execute(table.delete())
            db.session.commit()
            db.session.remove()
        self.dirty = False

    def begin_test(self, commits: bool) -> None:
        if commits:
            if self.module is not None:
                raise RuntimeError(
                    "a test marked commits cannot run while its module's world is held in a "
                    "transaction: move it to a module without a module-scoped world"
                )
            self.empty()
            self.dirty = True
            return
        if self.module is not None:
            self.test = self.connection.begin_nested()
            self._sequences.append(self._read_sequences())
            return
        if self.dirty:
            self.empty()
        self.test = self._connect()

    def end_test(self) -> list[str]:
        """Undo the test's writes; the stray connections it opened (each a failure)."""
        strays, self.strays = self.strays, []
        if strays:
            self.dirty = True  # a stray connection may have committed
        if self.test is None:
            return strays
        test, self.test = self.test, None
        if self.module is not None:
            test.rollback()
            self._restore_sequences(self._sequences.pop())
        else:
            self._disconnect(test)
        return strays

    def begin_module(self) -> None:
        """An outer transaction for a module's world (tests then run in savepoints)."""
        if self.dirty:
            self.empty()
        self.module = self._connect()

    def end_module(self) -> None:
        self._disconnect(self.module)
        self.module = None

    @contextmanager
    def rolled_back(self):
        """Within a test marked `commits`, whose world is committed for real: a transaction
        that the app's sessions in this thread join, rolled back at the end, so that each step
        of the test (the fuzz test's operations) starts from that world."""
        if self.connection is not None:
            raise RuntimeError("rolled_back() is for a test that commits, outside any transaction")
        transaction = self._connect()
        batched = _BatchedSavepoints(self.engine, self.connection)
        try:
            yield
        finally:
            batched.remove()
            self._disconnect(transaction)

    # --- the connection ----------------------------------------------------------------------

    def _connect(self):
        self._connecting = True
        try:
            connection = self.engine.connect()
        finally:
            self._connecting = False
        if self.dialect == "sqlite":
            # pysqlite begins transactions itself, and not before a SAVEPOINT: take over.
            raw = connection.connection.dbapi_connection
            self._sqlite_isolation = raw.isolation_level
            raw.isolation_level = None
        transaction = connection.begin()
        if self.dialect == "sqlite":
            connection.exec_driver_sql("BEGIN")
        self.connection, self.thread = connection, threading.get_ident()
        self._sequences.append(self._read_sequences())
        return transaction

    def _disconnect(self, transaction) -> None:
        connection = self.connection
        self.connection, self.thread = None, None
        sequences = self._sequences.pop()
        try:
            transaction.rollback()
            if self.dialect == "sqlite":
                connection.connection.dbapi_connection.isolation_level = self._sqlite_isolation
            self._restore_sequences(sequences, connection)
        except BaseException:
            self.dirty = True  # whatever the test left behind is not known to be gone
            connection.invalidate()
            raise
        finally:
            connection.close()

    def _read_sequences(self) -> dict:
        """PostgreSQL's sequences are not rolled back: their values, to put them back."""
        if self.dialect != "postgresql":
            return {}
        rows = self.connection.exec_driver_sql(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()"
        )
        return dict(rows.all())

    def _restore_sequences(self, values: dict, connection=None) -> None:
        if not values:
            return
        calls = ", ".join(
            f"setval('{name}', {last}, true)" if last is not None else f"setval('{name}', 1, false)"
            for name, last in values.items()
        )
        (connection or self.connection).exec_driver_sql(f"SELECT {calls}")


class _BatchedSavepoints:
    """On PostgreSQL, while `rolled_back()` holds its connection: the SAVEPOINT, ROLLBACK TO
    SAVEPOINT and RELEASE SAVEPOINT that each request's session sends (it joins through a
    savepoint) wait, in order, and go with the connection's next statement in one round trip.
    A request that only reads costs two round trips instead of three (ROLLBACK TO the last
    request's savepoint and SAVEPOINT for its own go together, before its first statement), and
    the fuzz test sends thousands: the statements and their order are the same, only fewer
    waits. Elsewhere (another connection, SQLite) nothing changes."""

    def __init__(self, engine, connection):
        self.engine = engine
        self.dialect = engine.dialect
        self.pending: list[str] = []
        self.dbapi = connection.connection.dbapi_connection if connection is not None else None
        self.active = self.dialect.name == "postgresql" and self.dbapi is not None
        if not self.active:
            return
        preparer = self.dialect.identifier_preparer
        for method, sql in (
            ("do_savepoint", "SAVEPOINT {}"),
            ("do_rollback_to_savepoint", "ROLLBACK TO SAVEPOINT {}"),
            ("do_release_savepoint", "RELEASE SAVEPOINT {}"),
        ):
            setattr(self.dialect, method, self._deferred(method, sql, preparer))
        event.listen(self.engine, "before_cursor_execute", self._send_pending)

    def _deferred(self, method, sql, preparer):
        original = getattr(type(self.dialect), method)

        def deferred(connection, name):
            if connection.connection.dbapi_connection is self.dbapi:
                self.pending.append(sql.format(preparer.format_savepoint(None, name)))
            else:
                original(self.dialect, connection, name)

        return deferred

    def _send_pending(self, conn, cursor, statement, parameters, context, executemany):
        if self.pending and cursor.connection is self.dbapi:
            batch, self.pending = "; ".join(self.pending), []
            cursor.execute(batch)

    def remove(self) -> None:
        """Stop batching; what still waits is undone by the transaction's rollback anyway."""
        if not self.active:
            return
        self.active = False
        self.pending = []
        event.remove(self.engine, "before_cursor_execute", self._send_pending)
        for method in ("do_savepoint", "do_rollback_to_savepoint", "do_release_savepoint"):
            self.dialect.__dict__.pop(method, None)


def every_row(app) -> dict[str, list[str]]:
    """Every row of every table, as the database holds it (one `repr` per row, sorted), so
    that a test can tell that a request wrote nothing. Read through the driver: the ORM would
    take five times as long, and a permission matrix asks hundreds of times."""
    with app.app_context():
        try:
            cursor = db.session.connection().connection.dbapi_connection.cursor()
            rows = {}
            for name in _table_names():
                cursor.execute(f'SELECT * FROM "{name}"')
                rows[name] = sorted(repr(tuple(row)) for row in cursor.fetchall())
            cursor.close()
            return rows
        finally:
            db.session.remove()


@functools.cache
def _table_names() -> tuple[str, ...]:
    return tuple(table.name for table in db.metadata.sorted_tables)  # sorted anew at each call
