"""Ballots: a resident's (the hot path), a clerk's paper or assisted ballot, and their audit.

A household has one ballot, replaced by each change (an upsert on consultation and household);
every change appends an audit row. Functions flush, never commit; the caller commits once and
asks for the tally after it.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, insert, select

from api.core import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    db,
    insert_for_dialect,
    utcnow,
)
from participation.models import Plan
from voting.models import (
    CHOICES,
    Ballot,
    BallotChange,
    BallotPick,
    Consultation,
    Delegation,
    ElectorateEntry,
    ElectorMember,
)
from voting.queries.ballots import (
    OUT_OF_SIGHT,
    eligibility,
    may_vote_for,
    verified_delegation_join,
)
from voting.service.consultations import advisory_lock

RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U


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


_UPSERTS: dict = {}  # dialect name -> the ballot upsert, built once


def _upsert_statement(dialect: str):
    """The upsert, without values: they are bound when it runs.

    Built once per dialect: building it (the `excluded` alias copies every column) cost more
    Python time than running it, on the busiest path of the product.
    """
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        table = Ballot.__table__
        stmt = insert_for_dialect(dialect, table)
        changing = (
            "choice",
            "item_opinions",
            "comment",
            "channel",
            "resident_id",
            "staff_id",
            "delegated",
            "updated_at",
        )
        stmt = _UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=[table.c.consultation_id, table.c.household_id],
            set_={**{c: stmt.excluded[c] for c in changing}, "revision": table.c.revision + 1},
        ).returning(table.c.receipt, table.c.revision, table.c.updated_at, table.c.choice)
    return stmt


def _upsert(values: dict):
    """INSERT … ON CONFLICT (consultation, household) DO UPDATE: one statement, race-free."""
    stmt = _upsert_statement(db.session.get_bind().dialect.name)
    return db.session.execute(stmt, values).one()


# The audit row: a Core insert with its values bound when it runs (an ORM-enabled insert
# with `.values()` is rebuilt and goes through the ORM's bulk path on every ballot).
_AUDIT_INSERT = insert(BallotChange.__table__)


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
    row = _upsert(
        {
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
    db.session.execute(
        _AUDIT_INSERT,
        {
            "consultation_id": consultation.id,
            "household_id": household_id,
            "revision": row.revision,
            "choice": choice,
            "picks": picks,
            "channel": channel,
            "resident_id": resident_id,
            "staff_id": staff_id,
            "evidence_upload_id": evidence_upload_id,
            "evidence_note": evidence_note,
            "assisted_by": assisted_by,
            "delegated": delegated,
            "at": now,
        },
    )
    return {
        "receipt": row.receipt,
        "choice": row.choice,
        "items": picks,
        "updated_at": row.updated_at,
        "revision": row.revision,
        "household_id": household_id,
    }


# The ballot's one read: the consultation (share-locked) with the caller's eligible households,
# their frozen weights, the caller's frozen relation to each and the household's verified
# delegation to the caller (an owners' decision's delegate), in a single statement.
_BALLOT_CONTEXT = (
    select(
        Consultation,
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
    .with_for_update(read=True, of=Consultation)
    .execution_options(populate_existing=True)
)


def cast_ballot(consultation_id: int, resident_id: int, args: dict) -> dict:
    """A verified member casts (or changes) their household's ballot; in an owners' decision
    only an owner, or the delegate of the owner's verified delegation (the ballot is then
    marked `delegated`), else 403 `not_an_owner`.

    The hot path: the advisory lock, one read (consultation, eligibility, weights, relation,
    delegation), the upsert and the audit row.
    """
    advisory_lock(consultation_id, shared=True)
    rows = db.session.execute(
        _BALLOT_CONTEXT, {"consultation_id": consultation_id, "resident_id": resident_id}
    ).all()
    if not rows:
        raise ConsultationNotFound()
    consultation = rows[0][0]
    members = [row for row in rows if row[1] is not None]
    weights = {
        row[1]: (row[2], row[3])
        for row in members
        if may_vote_for(consultation.kind, row[4], row[5])
    }
    delegated = {row[1] for row in members if row[4] != "owner" and row[5] is not None}
    if not members:
        reason = eligibility(consultation, resident_id)["reason"]
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
        if any(row[1] == household_id for row in members):
            refuse_ineligible("not_an_owner")
        raise NotEligible("您不是该户的表决成员", details={"reason": "not_member_of_household"})
    return write_ballot(
        consultation,
        household_id,
        args,
        channel="wechat",
        resident_id=resident_id,
        weights=weights[household_id],
        delegated=household_id in delegated,
    )
