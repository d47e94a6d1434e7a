"""The database handle and the column and statement helpers every domain's tables share."""

from __future__ import annotations

from datetime import UTC

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import CheckConstraint, DateTime, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from api.core.errors import NotFound

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone; PostgreSQL's `timestamptz` does. Either way the application sees an
    aware UTC datetime, so comparisons never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def choice_check(column: str, values) -> CheckConstraint:
    """`CHECK (column IN ('a', 'b', …))`, named `<column>_known`: an enumeration the database
    itself holds to, so a bug cannot store a value the code does not know.

    The values are the code's own constants, never input.
    """
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_known")


def dialect_insert(table):
    """An INSERT on `table` that knows `ON CONFLICT`, for the database of the current session
    (PostgreSQL in production, SQLite in the embedded default): the base of every upsert and
    every insert-if-absent, which are race-free where a read-then-write is not."""
    return insert_for_dialect(db.session.get_bind().dialect.name, table)


def insert_for_dialect(dialect: str, table):
    """`dialect_insert` for a dialect named by the caller, for statements built once and kept."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def get_or_404(model, object_id, code: str = "not_found", message: str = "找不到该记录"):
    """The row with this primary key, or a 404 in the error shape."""
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound(message, code=code)
    return obj


# --- personal data stays out of error messages -------------------------------------------------


def _primary_message_only(context) -> None:
    """Cut PostgreSQL's error down to its first line.

    Its DETAIL repeats the row or key it refused ("Failing row contains (…, 张三, 1234, …)",
    "Key (openid)=(o6_x…) already exists"), and the message travels into every log, traceback
    and failed job's record. The parameters are hidden by the engine (`hide_parameters`); the
    row is hidden here. What a reader needs to find the cause stays: the exception's class,
    the statement, and the driver's `diag` (sqlstate, table, column, constraint).
    """
    original = context.original_exception
    primary = getattr(getattr(original, "diag", None), "message_primary", None)
    if not primary or not original.args or original.args[0] == primary:
        return
    original.args = (primary,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        kind = type(original)
        wrapped.args = (f"({kind.__module__}.{kind.__name__}) {primary}", *wrapped.args[1:])


def install_error_scrubbing() -> None:
    """Keep the rows PostgreSQL quotes out of database errors, for every engine of the
    process. Called by `create_app`; installing twice is a no-op."""
    if not event.contains(Engine, "handle_error", _primary_message_only):
        event.listen(Engine, "handle_error", _primary_message_only)
