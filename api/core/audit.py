"""The audit trail of staff writes (操作日志): one append-only row per committed transaction.

Every write a staff member makes through the API is recorded without the view or the domain
doing anything: the shell names the request's actor (`begin`, when it keeps a staff caller on a
write request), the session's flushes collect what changed (rows inserted, updated and deleted,
with the columns before and after), and the commit adds one `AuditEntry` in the same
transaction. So the row exists exactly when the change does: a transaction that rolls back
leaves neither, and a savepoint rolled back inside a transaction drops what it flushed.

The kernel knows no domain: what a column holds is read from its name (`PERSONAL`, `SECRET`),
and the staff member's county and community come from a resolver the app installs
(`install(scope_of=...)`). Residents' own writes (ballots, comments) are not recorded here;
their ballots keep their own history (`ballot_changes`).

Rows are never updated or deleted: the ORM refuses to, and on PostgreSQL a trigger does too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_sqlalchemy.session import Session
from sqlalchemy import DDL, JSON, ForeignKey, Index, Integer, String, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, scoped_session

from api.core.clock import utcnow
from api.core.db import UTCDateTime, db
from api.core.fields import mask_name, mask_phone_last4

_ACTOR = "audit_actor"
_CHANGES = "audit_changes"
_SUBJECT = "audit_subject"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# How much one entry keeps: the changes of at most this many rows, then a count per table (a
# roster import of 2,000 households says so in one line rather than in 2,000 diffs).
MAX_ROWS = 100
MAX_TEXT = 500

# Columns that hold personal data, by name in every table, and how they are masked; columns
# that are never written down at all. tests/shell/test_audit.py fails on a column whose name
# looks personal and is in neither list nor in `NOT_PERSONAL`.
PERSONAL: dict[str, Callable[[Any], Any]] = {
    "owner_name": mask_name,
    "claimed_name": mask_name,
    "display_name": mask_name,
    "nickname": mask_name,
    "assisted_by": mask_name,  # who helped a household fill in an assisted ballot
    "owner_phone_last4": mask_phone_last4,
    "claimed_phone_last4": mask_phone_last4,
}
SECRET = frozenset(
    {
        "password_hash",
        "openid",
        "unionid",
        "token_epoch",
        # A ballot's content is the household's vote: the trail says a ballot was entered and
        # by whom, not how the household voted.
        "choice",
        "item_opinions",
        "answers",
        "receipt",
    }
)
HIDDEN = "[不记录]"


class AuditEntry(db.Model):
    """One staff action that changed data (操作日志): who, in which role and scope, what, on
    which object, when, from which address, and the fields before and after (masked)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_object", "object_type", "object_id"),
        Index("ix_audit_entries_staff_at", "staff_id", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    username: Mapped[str] = mapped_column(String(64))
    # The grants the staff member held when acting: ["committee:3", "owner:12"].
    roles: Mapped[list] = mapped_column(JSON)
    county_id: Mapped[int | None] = mapped_column(Integer, index=True)
    community_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(100))  # the view: "places.edit_household"
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    # [{"table", "id", "op": insert|update|delete|bulk_insert|bulk_update|bulk_delete,
    #   "before": {...}, "after": {...}, "rows": n}], then {"table", "op": "more", "rows": n}
    changes: Mapped[list] = mapped_column(JSON)


# PostgreSQL holds the rule itself; SQLite relies on the ORM's refusal below (the test suite
# empties SQLite tables with DELETE, which a trigger would refuse).
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_entries is append-only';
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()
"""
for _statement in (APPEND_ONLY_FUNCTION, APPEND_ONLY_TRIGGER):
    event.listen(
        AuditEntry.__table__,
        "after_create",
        DDL(_statement).execute_if(dialect="postgresql"),
    )


class AppendOnly(RuntimeError):
    """An audit row was about to be changed or deleted."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(mapper, connection, target) -> None:
    raise AppendOnly("audit_entries is append-only")


# --- the request's actor ---------------------------------------------------------------------


def begin(session, actor: dict) -> None:
    """Record this session's writes as `actor`'s until its transaction commits.

    `actor`: staff_id, username, roles, method, path, action, address, request_id and
    `subject` (object_type, object_id) or None, as the shell knows them."""
    session.info[_ACTOR] = actor
    session.info.setdefault(_CHANGES, [])


def name_subject(session, object_type: str, object_id: int | None) -> None:
    """Name the object the current action is about, where the address does not (a created
    row is otherwise found among the inserts)."""
    session.info[_SUBJECT] = (object_type, object_id)


def recording(session) -> bool:
    return _ACTOR in session.info


# --- what changed ----------------------------------------------------------------------------


def _plain(value):
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, list | dict):
        text = str(value)
        return value if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    return str(value)[:MAX_TEXT]


def shown(column: str, value):
    """`value` of `column` as the trail keeps it: masked, hidden or plain."""
    if column in SECRET:
        return None if value is None else HIDDEN
    if column in PERSONAL and value is not None:
        return PERSONAL[column](value)
    return _plain(value)


def _identity(state) -> int | str | None:
    key = state.mapper.primary_key_from_instance(state.obj())
    if not key or any(part is None for part in key):
        return None
    return key[0] if len(key) == 1 else "/".join(str(part) for part in key)


def _row_change(obj, op: str) -> dict | None:
    state = inspect(obj)
    mapper = state.mapper
    before, after = {}, {}
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        name = attr.key
        history = state.attrs[name].history
        if op == "insert":
            value = state.dict.get(name)
            if value is not None:
                after[name] = shown(column.name, value)
        elif op == "delete":
            value = (history.unchanged or history.deleted or [None])[0]
            if value is not None:
                before[name] = shown(column.name, value)
        elif history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                before[name] = shown(column.name, old)
                after[name] = shown(column.name, new)
    if op == "update" and not after and not before:
        return None
    change = {"table": mapper.local_table.name, "id": _identity(state), "op": op}
    if before:
        change["before"] = before
    if after:
        change["after"] = after
    return change


def _tag(session):
    return session.get_nested_transaction() or session.get_transaction()


def _after_flush(session, flush_context) -> None:
    if _ACTOR not in session.info:
        return
    changes = session.info.setdefault(_CHANGES, [])
    tag = _tag(session)
    deleted = list(session.deleted)
    # A row deleted as an orphan (`account.grants.remove(grant)` with delete-orphan) is in
    # no list of the session's: the flush decided to delete it (tests/shell/test_audit_walk).
    for state, (is_delete, list_only) in getattr(flush_context, "states", {}).items():
        obj = state.obj()
        if is_delete and not list_only and obj is not None and obj not in deleted:
            deleted.append(obj)
    for op, objects in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", deleted),
    ):
        for obj in objects:
            if isinstance(obj, AuditEntry):
                continue
            if op == "update" and not session.is_modified(obj, include_collections=False):
                continue
            change = _row_change(obj, op)
            if change is not None:
                changes.append((tag, change))


def _after_bulk(orm_execute_state):
    """A DML statement run through the session (`session.execute(update(...))`): recorded
    with its table and the number of rows it touched."""
    session = orm_execute_state.session
    if _ACTOR not in session.info or orm_execute_state.is_select:
        return None
    if not (
        orm_execute_state.is_insert or orm_execute_state.is_update or orm_execute_state.is_delete
    ):
        return None
    statement = orm_execute_state.statement
    table = getattr(statement, "table", None)
    name = getattr(table, "name", None)
    if name is None or name == AuditEntry.__tablename__:
        return None
    op = (
        "bulk_insert"
        if orm_execute_state.is_insert
        else "bulk_update"
        if orm_execute_state.is_update
        else "bulk_delete"
    )
    result = orm_execute_state.invoke_statement()
    rows = getattr(result, "rowcount", None)
    params = orm_execute_state.parameters
    if orm_execute_state.is_insert and getattr(result, "returns_rows", False):
        # An INSERT … RETURNING (an upsert) counts its rows as they are fetched, after this:
        # SQLite's rowcount is 0 here. One row a parameter set.
        rows = len(params) if isinstance(params, list) else 1
    elif rows is None or rows < 0:
        rows = len(params) if isinstance(params, list) else None
    session.info.setdefault(_CHANGES, []).append(
        (_tag(session), {"table": name, "op": op, "rows": rows})
    )
    return result


def _session(session):
    """The session itself, of Flask-SQLAlchemy's `db.session` (a scoped session)."""
    return session() if isinstance(session, scoped_session) else session


def note_statement(session, table: str, op: str, rows: int | None) -> None:
    """Record a statement run on the session's connection (Core, which the session's events
    do not see) as `_after_bulk` records one run through the session: its table, `op`
    (bulk_insert, bulk_update, bulk_delete) and the rows it touched."""
    session = _session(session)
    if _ACTOR in session.info:
        session.info.setdefault(_CHANGES, []).append(
            (_tag(session), {"table": table, "op": op, "rows": rows})
        )


def note_row(
    session,
    table: str,
    row_id: int | str,
    op: str,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    """Record a row written by a statement the session's events do not see as a row (an
    upsert, a statement on the session's connection), with the columns given before and
    after, masked and hidden as every recorded row's are."""
    session = _session(session)
    if _ACTOR not in session.info:
        return
    change: dict = {"table": table, "id": row_id, "op": op}
    if before:
        change["before"] = {name: shown(name, value) for name, value in before.items()}
    if after:
        change["after"] = {name: shown(name, value) for name, value in after.items()}
    session.info.setdefault(_CHANGES, []).append((_tag(session), change))


def _within(tag, transaction) -> bool:
    while tag is not None:
        if tag is transaction:
            return True
        tag = tag.parent
    return False


def _after_soft_rollback(session, previous_transaction) -> None:
    changes = session.info.get(_CHANGES)
    if changes:
        session.info[_CHANGES] = [
            (tag, change) for tag, change in changes if not _within(tag, previous_transaction)
        ]
    if previous_transaction.parent is None:
        session.info.pop(_SUBJECT, None)


_scope_of: Callable[[int], tuple[int | None, int | None]] | None = None


def _subject(session, actor: dict, changes: list[dict]) -> tuple[str | None, int | None]:
    if _SUBJECT in session.info:
        return session.info[_SUBJECT]
    if actor.get("subject") and isinstance(actor["subject"][1], int):
        # An address's opaque id (a ballot comment's token) names no row: the inserts may.
        return actor["subject"]
    for change in changes:
        if change["op"] == "insert" and isinstance(change.get("id"), int):
            return change["table"], change["id"]
    first = changes[0] if changes else {}
    return first.get("table"), first.get("id") if isinstance(first.get("id"), int) else None


def _before_commit(session) -> None:
    actor = session.info.get(_ACTOR)
    if actor is None:
        return
    if session.new or session.dirty or session.deleted:
        session.flush()  # what is still pending belongs to this entry
    changes = [change for _, change in session.info.get(_CHANGES, [])]
    if not changes:
        return
    kept = changes[:MAX_ROWS]
    more: dict[tuple[str, str], int] = {}
    for change in changes[MAX_ROWS:]:
        key = (change["table"], change["op"])
        more[key] = more.get(key, 0) + (change.get("rows") or 1)
    kept += [{"table": t, "op": "more", "of": op, "rows": n} for (t, op), n in more.items()]
    county_id, community_id = _scope_of(actor["staff_id"]) if _scope_of else (None, None)
    object_type, object_id = _subject(session, actor, changes)
    session.add(
        AuditEntry(
            staff_id=actor["staff_id"],
            username=actor["username"],
            roles=actor["roles"],
            county_id=county_id,
            community_id=community_id,
            action=actor["action"][:100],
            method=actor["method"],
            path=actor["path"][:300],
            object_type=object_type,
            object_id=object_id,
            address=(actor.get("address") or None),
            request_id=actor.get("request_id"),
            changes=kept,
        )
    )
    session.info[_CHANGES] = []
    session.flush()


def _after_commit(session) -> None:
    # One entry per transaction: what the request does after its commit (in-process jobs) is
    # not the staff member's action.
    for key in (_ACTOR, _CHANGES, _SUBJECT):
        session.info.pop(key, None)


_HOOKS = (
    ("after_flush", _after_flush),
    ("after_soft_rollback", _after_soft_rollback),
    ("before_commit", _before_commit),
    ("after_commit", _after_commit),
    ("do_orm_execute", _after_bulk),
)


def install(scope_of: Callable[[int], tuple[int | None, int | None]] | None = None) -> None:
    """Record staff writes in every session; `scope_of(staff_id)` gives the county and the
    community the staff member works in, kept on each entry so that the trail is searched
    within a scope. Installing twice is a no-op (the listeners are global to the session
    class, as `api.core.jobs.install_session_hooks` says)."""
    global _scope_of
    if scope_of is not None:
        _scope_of = scope_of
    for name, hook in _HOOKS:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
