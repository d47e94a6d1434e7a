"""Ballots: a resident's (the hot path), a clerk's paper or assisted ballot, and their audit.

A household has one ballot, replaced by each change (an upsert on consultation and household);
every change appends an audit row. Functions flush, never commit; the caller commits once and
asks for the tally after it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import NullType

from api.core import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    Unauthorized,
    db,
    insert_for_dialect,
    utcnow,
)
from api.core.audit import note_row, note_statement
from participation.models import Plan, Resident
from voting.models import (
    CHOICES,
    RECEIPT_ALPHABET,
    Ballot,
    BallotChange,
    BallotPick,
    Consultation,
    Delegation,
    ElectorateEntry,
    ElectorMember,
    Tally,
)
from voting.queries.ballots import (
    OUT_OF_SIGHT,
    eligibility,
    may_vote_for,
    verified_delegation_join,
)


class BallotClosed(Conflict):
    code = "ballot_closed"
    message = "表决已结束"


class NotOpenYet(Conflict):
    code = "consultation_not_open"
    message = "表决尚未开始"


class ConsultationNotFound(NotFound):
    """A consultation that does not exist, or of a project the caller may not know of (a
    resident outside its estates, staff out of its scope): the same answer."""

    code = "consultation_not_found"
    message = "找不到该表决"


class NotEligible(DomainError):
    status = 403
    code = "not_eligible"
    message = "您不在本次表决的户籍名单中"


class NotAnOwner(DomainError):
    """A member of the household who is not its owner, in an owners' decision (art. 278)."""

    status = 403
    code = "not_an_owner"
    message = (
        "业主共同决定由业主表决；您登记的身份不是业主。"
        "业主可委托您投票，委托经居委会核实后方可代为表决"
    )


# The reasons a resident who sees the consultation may not vote in it; those outside the
# project's estates (`voting.queries.ballots.OUT_OF_SIGHT`) get `ConsultationNotFound` instead.
NOT_ELIGIBLE_MESSAGES = {
    "joined_after_opening": "您在表决开始后才完成住户认证，不能参加本次表决",
    "consultation_not_open": "表决尚未开始",
    "not_an_owner": NotAnOwner.message,
}


def refuse_ineligible(reason: str) -> None:
    """Raise what a resident who may not vote is told: 404 if they are outside the project's
    estates (the consultation is not theirs to know of), 403 `not_an_owner` for a member who is
    not an owner in an owners' decision, 403 `not_eligible` with the reason otherwise."""
    if reason in OUT_OF_SIGHT:
        raise ConsultationNotFound()
    if reason == "not_an_owner":
        raise NotAnOwner(details={"reason": reason})
    raise NotEligible(NOT_ELIGIBLE_MESSAGES[reason], details={"reason": reason})


def check_open(consultation: Consultation, now: datetime) -> None:
    if consultation.status == "draft":
        raise NotOpenYet()
    if not consultation.accepts_ballots(now):
        raise BallotClosed()


def _check_choice(consultation: Consultation, args: dict) -> tuple[str, list[str] | None]:
    kind = consultation.kind
    if kind == "needs_survey":
        items = args.get("items")
        if not items:
            raise InvalidInput("请至少选择一项需求", code="items_required")
        unknown = sorted(set(items) - set(consultation.options))
        if unknown:
            raise InvalidInput(
                "所选项目不在候选项中", code="invalid_choice", details={"unknown_items": unknown}
            )
        return "picked", sorted(set(items))
    choice = args.get("choice")
    if choice not in CHOICES[kind]:
        raise InvalidInput(
            "选项无效", code="invalid_choice", details={"allowed": list(CHOICES[kind])}
        )
    if args.get("items"):
        raise InvalidInput("此表决不需要选择项目", code="items_not_applicable")
    return choice, None


def _check_opinions(consultation: Consultation, opinions: dict | None) -> dict | None:
    if not opinions:
        return None
    if consultation.kind != "plan_satisfaction":
        raise InvalidInput("只有方案满意度征询可以对方案条目提意见", code="opinions_not_applicable")
    plan = db.session.get(Plan, consultation.plan_id)
    known = {str(item.id) for item in plan.items}
    unknown = sorted(set(opinions) - known)
    if unknown:
        raise InvalidInput(
            "意见针对的方案条目不存在", code="unknown_plan_item", details={"plan_item_ids": unknown}
        )
    return opinions


def _new_receipt() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(10))


# The consultations' advisory lock key: the same as the close's (`voting.service.consultations`
# `_ADVISORY_LOCKS`, first key 0x766F7465 "vote", second the consultation id).
_LOCK_KEY = 1987015781

_UPSERTS: dict = {}  # dialect name -> the ballot upsert, built once


def _upsert_statement(dialect: str):
    """The upsert, without values: they are bound when it runs.

    Built once per dialect: building it (the `excluded` alias copies every column) cost more
    Python time than running it, on the busiest path of the product.
    """
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        stmt = _UPSERTS[dialect] = _on_conflict(insert_for_dialect(dialect, Ballot.__table__))
    return stmt


# What a household's new ballot replaces in its row; `revision` counts the changes.
_CHANGING = (
    "choice",
    "item_opinions",
    "comment",
    "channel",
    "resident_id",
    "staff_id",
    "delegated",
    "updated_at",
)


def _on_conflict(stmt):
    table = Ballot.__table__
    return stmt.on_conflict_do_update(
        index_elements=[table.c.consultation_id, table.c.household_id],
        set_={**{c: stmt.excluded[c] for c in _CHANGING}, "revision": table.c.revision + 1},
    ).returning(table.c.receipt, table.c.revision, table.c.updated_at, table.c.choice)


# The audit row: a Core insert with its values bound when it runs (an ORM-enabled insert
# with `.values()` is rebuilt and goes through the ORM's bulk path on every ballot).
_AUDIT_INSERT = insert(BallotChange.__table__)

# The change counter (the gate's freshness watermark, `Tally`): one more ballot change.
_COUNT_CHANGE = (
    update(Tally.__table__)
    .where(Tally.__table__.c.consultation_id == bindparam("counted_consultation_id"))
    .values(changes=Tally.__table__.c.changes + 1)
)

_AUDIT_COLUMNS = (
    "consultation_id",
    "household_id",
    "choice",
    "picks",
    "channel",
    "resident_id",
    "staff_id",
    "evidence_upload_id",
    "evidence_note",
    "assisted_by",
    "delegated",
)


def _write_statement(count_change: bool):
    """PostgreSQL: the consultation's locks and state, the upsert, its audit row and (with
    `count_change`) the change counter, in one statement of CTEs: one round trip for the whole
    write, and, run on its own (`cast_ballot`), its own transaction with no COMMIT to send.

        WITH open AS (SELECT id FROM consultations
                      WHERE id = … AND (SELECT pg_advisory_xact_lock_shared(…)) IS NOT NULL
                        AND status = 'open' AND (closes_at IS NULL OR closes_at > now)
                      FOR SHARE),
             ballot AS (INSERT INTO ballots … SELECT … FROM open
                        ON CONFLICT … DO UPDATE … RETURNING …),
             audit AS (INSERT INTO ballot_changes … SELECT …, ballot.revision, … FROM ballot),
             counter AS (UPDATE tallies SET changes = changes + 1
                         WHERE consultation_id = … AND EXISTS (SELECT … FROM ballot))
        SELECT receipt, revision, updated_at, choice FROM ballot

    The locks, in the close's order (`voting.service.consultations.lock`): the shared advisory
    lock first, an uncorrelated scalar subquery planned as an InitPlan that a one-time filter
    evaluates before the consultations table is scanned, then the row's share lock (the other
    order would deadlock with a waiting close). A ballot that waited for a close still sees it:
    under READ COMMITTED its snapshot predates the wait, but FOR SHARE finds the row updated by
    the committed close and re-checks the latest version (EvalPlanQual), which is no longer
    open; `open` is then empty, nothing is written and no row comes back (`BallotClosed`). A
    ballot that holds the shared lock commits before any close can take it exclusively.

    The sub-statements share one snapshot and all run to completion; each reads the one
    before it, which orders them: the counter runs after the upsert, so the tally row, which
    every ballot of the consultation updates, is locked last, once the ballot's own row is held,
    and stays locked only until the commit, which for a resident's ballot is this statement's
    own end (no client round trip while it is held).

    Its parameters are named `v_<column>`: SQLAlchemy adds to an INSERT or UPDATE, even one in
    a CTE, every column named by an execution parameter (the counter's UPDATE would otherwise
    also SET tallies.consultation_id, a key update).
    """
    ballots, changes, tallies = Ballot.__table__, BallotChange.__table__, Tally.__table__
    consultations = Consultation.__table__
    consultation_id = bindparam("v_consultation_id", type_=Integer)
    now = bindparam("v_updated_at", type_=ballots.c.updated_at.type)
    lock = func.pg_advisory_xact_lock_shared(_LOCK_KEY, cast(consultation_id, Integer))
    gate = (
        select(consultations.c.id)
        .where(
            consultations.c.id == consultation_id,
            # pg_advisory_xact_lock_shared returns void, which is not NULL: always true.
            select(lock).scalar_subquery().is_not(None),
            consultations.c.status == "open",
            or_(consultations.c.closes_at.is_(None), consultations.c.closes_at > now),
        )
        .with_for_update(read=True)
        .cte("open")
    )

    def value(table, name, key=None):
        # Typed, so that PostgreSQL reads a NULL in a SELECT list as the column's type (a
        # foreign key to a table of another module may not have its type yet: Integer).
        column = table.c[name]
        kind = Integer if isinstance(column.type, NullType) else column.type
        return cast(bindparam(key or f"v_{name}", type_=kind), kind)

    names = [c.name for c in ballots.c if c.name != "id"]
    values = select(*(value(ballots, n) for n in names))
    upsert = _on_conflict(
        insert_for_dialect("postgresql", ballots).from_select(names, values.select_from(gate))
    )
    ballot = upsert.cte("ballot")
    audit_names = [*_AUDIT_COLUMNS, "revision", "at"]
    audit_values = select(
        *(value(changes, n) for n in _AUDIT_COLUMNS),
        ballot.c.revision,
        value(changes, "at", "v_updated_at"),
    ).select_from(ballot)
    stmt = select(ballot.c.receipt, ballot.c.revision, ballot.c.updated_at, ballot.c.choice)
    stmt = stmt.add_cte(insert(changes).from_select(audit_names, audit_values).cte("audit"))
    if count_change:
        counter = (
            update(tallies)
            .where(
                tallies.c.consultation_id == consultation_id,
                select(ballot.c.revision).exists(),
            )
            .values(changes=tallies.c.changes + 1)
            .cte("counter")
        )
        stmt = stmt.add_cte(counter)
    return stmt


# Built once: with the counter (every ballot but a needs survey's), and without it (a needs
# survey's picks are written after the ballot, and the counter after them).
_WRITES = {True: _write_statement(True), False: _write_statement(False)}


def write_ballot(
    consultation,
    household_id,
    args,
    *,
    channel,
    resident_id=None,
    staff_id=None,
    evidence_upload_id=None,
    evidence_note=None,
    assisted_by=None,
    weights=None,
    delegated=False,
):
    choice, picks = _check_choice(consultation, args)
    opinions = _check_opinions(consultation, args.get("item_opinions"))
    if weights is None:
        entry = db.session.get(ElectorateEntry, (consultation.id, household_id))
        weights = (entry.floor_area, entry.members)
    now = utcnow()
    values = {
        "consultation_id": consultation.id,
        "household_id": household_id,
        "choice": choice,
        "item_opinions": opinions,
        "comment": args.get("comment"),
        "receipt": _new_receipt(),
        "channel": channel,
        "resident_id": resident_id,
        "staff_id": staff_id,
        "weight_area": weights[0],
        "weight_persons": weights[1],
        "delegated": delegated,
        "revision": 1,
        "created_at": now,
        "updated_at": now,
    }
    audit = {
        "picks": picks,
        "evidence_upload_id": evidence_upload_id,
        "evidence_note": evidence_note,
        "assisted_by": assisted_by,
    }
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        # One round trip: the upsert, the audit row and (but for picks) the counter.
        params = {f"v_{name}": value for name, value in (*values.items(), *audit.items())}
        # On the session's connection: a Core statement needs none of the ORM's execution.
        row = db.session.connection().execute(_WRITES[picks is None], params).first()
        if row is None:  # closed (or due) since it was read: nothing was written
            raise BallotClosed()
        # The session's events do not see a statement on its connection (the staff trail).
        note_statement(db.session, "ballot_changes", "bulk_insert", 1)
    else:  # the embedded default: one statement each
        row = db.session.execute(_upsert_statement(dialect), values).one()
        db.session.execute(
            _AUDIT_INSERT,
            {
                **{name: values.get(name) for name in _AUDIT_COLUMNS if name not in audit},
                **audit,
                "revision": row.revision,
                "at": now,
            },
        )
    # A clerk's paper ballot in the staff audit trail: whose ballot, how, by whom and its
    # evidence; its content is hidden there (`api.core.audit.SECRET`).
    note_row(
        db.session,
        "ballots",
        f"{consultation.id}/{household_id}",
        "insert" if row.revision == 1 else "update",
        before=None if row.revision == 1 else {"revision": row.revision - 1},
        after={
            "household_id": household_id,
            "channel": channel,
            "revision": row.revision,
            "staff_id": staff_id,
            "evidence_upload_id": evidence_upload_id,
            "choice": choice,
        },
    )
    if picks is not None:
        db.session.execute(
            delete(BallotPick).where(
                BallotPick.consultation_id == consultation.id,
                BallotPick.household_id == household_id,
            )
        )
        db.session.execute(
            insert(BallotPick),
            [
                {"consultation_id": consultation.id, "household_id": household_id, "item": item}
                for item in picks
            ],
        )
    if picks is not None or dialect != "postgresql":
        # Last before the commit: the tally row is held from here to the commit.
        db.session.execute(_COUNT_CHANGE, {"counted_consultation_id": consultation.id})
    return {
        "receipt": row.receipt,
        "choice": row.choice,
        "items": picks,
        "updated_at": row.updated_at,
        "revision": row.revision,
        "household_id": household_id,
    }


@dataclass(frozen=True, slots=True)
class BallotTarget:
    """What a resident's ballot reads of its consultation: a few columns, not the ORM row
    (loading and tracking the whole entity was a tenth of the ballot's CPU)."""

    id: int
    kind: str
    status: str
    closes_at: datetime | None
    options: list
    plan_id: int | None

    is_due_to_close = Consultation.is_due_to_close
    accepts_ballots = Consultation.accepts_ballots


# The ballot's one read: the consultation with the caller's eligible households, their frozen
# weights, the caller's frozen relation to each and the household's verified delegation to the
# caller (an owners' decision's delegate), in a single statement. It takes no lock: all but the
# consultation's state is frozen at the opening, and the state is checked again, under the
# consultation's locks, by the write (`_write_statement`) on PostgreSQL.
_BALLOT_CONTEXT = (
    select(
        Consultation.id,
        Consultation.kind,
        Consultation.status,
        Consultation.closes_at,
        Consultation.options,
        Consultation.plan_id,
        ElectorMember.household_id,
        ElectorateEntry.floor_area,
        ElectorateEntry.members,
        ElectorMember.relation,
        Delegation.id,
    )
    .outerjoin(
        ElectorMember,
        and_(
            ElectorMember.consultation_id == Consultation.id,
            ElectorMember.resident_id == bindparam("resident_id"),
        ),
    )
    .outerjoin(
        ElectorateEntry,
        and_(
            ElectorateEntry.consultation_id == ElectorMember.consultation_id,
            ElectorateEntry.household_id == ElectorMember.household_id,
        ),
    )
    .outerjoin(Delegation, verified_delegation_join(bindparam("resident_id")))
    .where(Consultation.id == bindparam("consultation_id"))
    .order_by(ElectorMember.household_id)
)

_BEGIN = text("BEGIN")


def _on_its_own() -> bool:
    """Run the ballot's statements each as its own transaction (PostgreSQL, the request's
    session not yet in a transaction, on the engine itself): the read needs none, and the write
    is one statement that takes the consultation's locks and commits at its end. No BEGIN and
    no COMMIT go to the server: a ballot is two round trips. Elsewhere (SQLite; a session that
    already began, or joins a test's transaction) the ballot runs in the session's transaction
    as any write does."""
    bind = db.session.get_bind()
    if bind.dialect.name != "postgresql" or not isinstance(bind, Engine):
        return False
    if db.session().in_transaction():
        return False
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return True


def _read_context(consultation_id: int, resident_id: int) -> tuple[list, bool]:
    """The context rows, and whether the ballot runs statement by statement (`_on_its_own`);
    retried once on a connection found dead.

    The ballot skips the pool's pre-ping (`api.config`), so the connection it checks out may
    have died since its last use (the database restarted, an idle connection was cut). The
    failure then comes from this statement, the ballot's first: nothing was written, so the
    whole transaction is rolled back and run again, once, on a new connection (SQLAlchemy
    invalidates the dead one and every pooled connection older than it).
    """
    params = {"consultation_id": consultation_id, "resident_id": resident_id}
    written = bool(db.session.new or db.session.dirty or db.session.deleted)
    own = _on_its_own()
    try:
        return db.session.connection().execute(_BALLOT_CONTEXT, params).all(), own
    except DBAPIError as exc:
        if not exc.connection_invalidated or written:
            raise
        db.session.rollback()
    own = _on_its_own()
    return db.session.connection().execute(_BALLOT_CONTEXT, params).all(), own


def refuse_if_gone(resident_id: int) -> None:
    """401, as for any other request of theirs, when the resident has no row or was erased
    (`participation.service.erasure`). Only a refused ballot asks: the ballot itself does not
    load the resident, and an erased resident is in no electorate still open, so their ballot
    is always refused first."""
    erased = db.session.execute(
        select(Resident.erased_at).where(Resident.id == resident_id)
    ).one_or_none()
    if erased is None or erased[0] is not None:
        raise Unauthorized("账号不存在或已停用", code="token_invalid")


def _target(consultation_id: int, resident_id: int, rows: list, args: dict):
    """From the ballot's read: the consultation, the household the ballot is for, the
    caller's households with their weights and those they vote for as a delegate; raises
    what the caller is told when they may not vote."""
    if not rows:
        raise ConsultationNotFound()
    consultation = BallotTarget(*rows[0][:6])
    # (household, floor area, members, relation, delegation) of each of the caller's households
    members = [row[6:] for row in rows if row[6] is not None]
    weights = {
        row[0]: (row[1], row[2])
        for row in members
        if may_vote_for(consultation.kind, row[3], row[4])
    }
    delegated = {row[0] for row in members if row[3] != "owner" and row[4] is not None}
    if not members:
        reason = eligibility(db.session.get(Consultation, consultation_id), resident_id)["reason"]
        # Who asks comes before the consultation's state: to a resident outside the project's
        # estates, a draft or closed consultation is as missing as one that does not exist.
        if reason not in OUT_OF_SIGHT:
            check_open(consultation, utcnow())
        refuse_ineligible(reason)
    check_open(consultation, utcnow())
    if not weights:
        refuse_ineligible("not_an_owner")
    household_id = args.get("household_id")
    if household_id is None:
        if len(weights) > 1:
            raise InvalidInput(
                "您属于多个住户，请指定为哪一户投票",
                code="household_required",
                details={"households": sorted(weights)},
            )
        household_id = next(iter(weights))
    elif household_id not in weights:
        if any(row[0] == household_id for row in members):
            refuse_ineligible("not_an_owner")
        raise NotEligible("您不是该户的表决成员", details={"reason": "not_member_of_household"})
    return consultation, household_id, weights, delegated


def cast_ballot(consultation_id: int, resident_id: int, args: dict) -> dict:
    """A verified member casts (or changes) their household's ballot; in an owners' decision
    only an owner, or the delegate of the owner's verified delegation (the ballot is then
    marked `delegated`), else 403 `not_an_owner`.

    The hot path, two statements and two round trips on PostgreSQL, each its own transaction:
    one read (consultation, eligibility, weights, relation, delegation: `_BALLOT_CONTEXT`) and
    one write (the consultation's advisory and row locks and its state checked again, the
    upsert, the audit row and the change counter: `_write_statement`). The caller's commit then
    sends nothing. A needs survey's picks take more statements, so its write runs in a
    transaction begun for it.
    """
    rows, own = _read_context(consultation_id, resident_id)
    try:
        consultation, household_id, weights, delegated = _target(
            consultation_id, resident_id, rows, args
        )
    except DomainError:
        refuse_if_gone(resident_id)
        raise
    if own and consultation.kind == "needs_survey":
        # The picks are more statements after the upsert: one transaction for them all.
        db.session.execute(_BEGIN)
    return write_ballot(
        consultation,
        household_id,
        args,
        channel="wechat",
        resident_id=resident_id,
        weights=weights[household_id],
        delegated=household_id in delegated,
    )
