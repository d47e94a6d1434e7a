"""What voting holds about a resident: what `GET /me/export` shows of it (`export`) and what
erasing the resident does to it (`erase`, registered with
`participation.service.erasure.register_eraser`).

A ballot belongs to its household, not to the member who cast it: erasing a resident keeps
every ballot, its audit trail and every count as they were, and only takes the resident out of
the frozen electorates of the consultations still open, so that their token can no longer vote.
`SOURCES` names the columns pointing at the resident that each section is read from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from api.core import db
from voting.models import (
    Ballot,
    BallotChange,
    BallotPick,
    Consultation,
    Delegation,
    ElectorMember,
    OpinionReply,
)
from voting.service.members import leave_open_electorates

SOURCES = {
    "ballots": ("ballots.resident_id",),
    "ballot_changes": ("ballot_changes.resident_id",),
    "electorates": ("elector_members.resident_id",),
    "delegations": ("delegations.owner_id", "delegations.delegate_id"),
}


DELEGATION_REVOKED_REASON = "委托人或受托人已注销账号"


def _ballots(resident_id: int) -> list[dict]:
    rows = db.session.execute(
        select(Ballot, Consultation.title, Consultation.kind)
        .join(Consultation, Consultation.id == Ballot.consultation_id)
        .where(Ballot.resident_id == resident_id)
        .order_by(Ballot.id)
    ).all()
    ballot_ids = [ballot.id for ballot, _, _ in rows]
    picks: dict[tuple[int, int], list[str]] = {}
    replies: dict[int, list[dict]] = {}
    if rows:
        for pick in db.session.scalars(
            select(BallotPick)
            .where(
                BallotPick.consultation_id.in_({b.consultation_id for b, _, _ in rows}),
                BallotPick.household_id.in_({b.household_id for b, _, _ in rows}),
            )
            .order_by(BallotPick.item)
        ):
            picks.setdefault((pick.consultation_id, pick.household_id), []).append(pick.item)
        for reply in db.session.scalars(
            select(OpinionReply)
            .where(OpinionReply.ballot_id.in_(ballot_ids))
            .order_by(OpinionReply.id)
        ):
            replies.setdefault(reply.ballot_id, []).append(
                {
                    "plan_item_id": reply.plan_item_id,
                    "comment": reply.comment_text,
                    "body": reply.body,
                    "role": reply.role,
                    "created_at": reply.created_at,
                }
            )
    return [
        {
            "consultation_id": ballot.consultation_id,
            "consultation_title": title,
            "kind": kind,
            "household_id": ballot.household_id,
            "choice": ballot.choice,
            "items": picks.get((ballot.consultation_id, ballot.household_id), []),
            "item_opinions": ballot.item_opinions,
            "comment": ballot.comment,
            "channel": ballot.channel,
            "delegated": ballot.delegated,
            "receipt": ballot.receipt,
            "revision": ballot.revision,
            "cast_at": ballot.updated_at,
            "first_cast_at": ballot.created_at,
            "replies": replies.get(ballot.id, []),
        }
        for ballot, title, kind in rows
    ]


def export(resident_id: int) -> dict:
    """The ballots the resident cast last for a household (with the items, opinions, comment,
    receipt and the official replies to it), every change they made (the audit trail), the
    frozen electorates they are in, and the delegations they gave or hold."""
    changes = db.session.execute(
        select(BallotChange, Consultation.kind)
        .join(Consultation, Consultation.id == BallotChange.consultation_id)
        .where(BallotChange.resident_id == resident_id)
        .order_by(BallotChange.id)
    ).all()
    electorates = db.session.scalars(
        select(ElectorMember)
        .where(ElectorMember.resident_id == resident_id)
        .order_by(ElectorMember.consultation_id, ElectorMember.household_id)
    )
    delegations = db.session.scalars(
        select(Delegation)
        .where(or_(Delegation.owner_id == resident_id, Delegation.delegate_id == resident_id))
        .order_by(Delegation.id)
    )
    return {
        "ballots": _ballots(resident_id),
        "ballot_changes": [
            {
                "consultation_id": change.consultation_id,
                "kind": kind,
                "household_id": change.household_id,
                "revision": change.revision,
                "choice": change.choice,
                "items": change.picks,
                "channel": change.channel,
                "delegated": change.delegated,
                "at": change.at,
            }
            for change, kind in changes
        ],
        "electorates": [
            {
                "consultation_id": member.consultation_id,
                "household_id": member.household_id,
                "relation": member.relation,
            }
            for member in electorates
        ],
        "delegations": [
            {
                "id": delegation.id,
                "consultation_id": delegation.consultation_id,
                "household_id": delegation.household_id,
                "role": role,
                "status": delegation.status,
                # The owner's own words: not the delegate's to take away.
                "note": delegation.note if role == "owner" else None,
                "reason": delegation.reason,
                "power_of_attorney_upload_id": delegation.power_of_attorney_upload_id,
                "created_at": delegation.created_at,
                "reviewed_at": delegation.reviewed_at,
                "revoked_at": delegation.revoked_at,
            }
            for delegation in delegations
            for role in ("owner" if delegation.owner_id == resident_id else "delegate",)
        ],
    }


def erase(resident_id: int, now: datetime | None = None) -> None:
    """Voting's part of an erasure: the resident leaves the frozen electorate of every
    consultation not yet closed (the ballot reads eligibility there, not the resident's row, so
    this is what stops an erased resident's token from voting), and the live delegations they
    gave or held there are revoked. Ballots, their audit rows, the electorate's frozen counts
    and the tallies are untouched; so are the electorates and delegations of closed
    consultations, the record of who could vote and for whom."""
    leave_open_electorates(resident_id, reason=DELEGATION_REVOKED_REASON, now=now)
