"""A member who leaves the frozen electorate: participation's `membership_ended` (the resident
left the household, or a roster re-import revoked their claim), heard here.

The electorate is frozen at the opening, households and members alike, so that a claim verified
later does not vote. The end of a membership is the one change that reaches into it: the
resident's member row of that household goes from every consultation not yet closed, so they
no longer vote for it (nor name or act as its delegate); the household stays in the electorate
with its frozen weights, and a ballot it cast stays and counts. A closed consultation keeps its
rows: it is the record of who could vote. A delegation the resident gave or held for that
household in such a consultation is revoked: an owner who left no longer entrusts the
household's vote, and a delegate who left no longer holds it.

Functions flush, never commit: the caller of the event commits.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, or_, select, update

from api.core import db, utcnow
from voting.models import Consultation, Delegation, ElectorMember
from voting.queries.delegations import LIVE

log = logging.getLogger(__name__)

DELEGATION_REVOKED_REASON = "委托人或受托人已不是该户的认证住户"


def leave_open_electorates(
    resident_id: int,
    household_id: int | None = None,
    reason: str = DELEGATION_REVOKED_REASON,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Take the resident out of the members of every consultation not yet closed (of one
    household, or of all when `household_id` is None), and revoke the live delegations they
    gave or held there, for `reason`; (member rows removed, delegations revoked). Closed consultations keep
    both: the record of who could vote and for whom."""
    not_closed = select(Consultation.id).where(Consultation.status != "closed")
    members = [
        ElectorMember.resident_id == resident_id,
        ElectorMember.consultation_id.in_(not_closed),
    ]
    delegations = [
        or_(Delegation.owner_id == resident_id, Delegation.delegate_id == resident_id),
        Delegation.status.in_(LIVE),
        Delegation.consultation_id.in_(not_closed),
    ]
    if household_id is not None:
        members.append(ElectorMember.household_id == household_id)
        delegations.append(Delegation.household_id == household_id)
    removed = db.session.execute(delete(ElectorMember).where(*members)).rowcount
    revoked = db.session.execute(
        update(Delegation)
        .where(*delegations)
        .values(status="revoked", revoked_at=now or utcnow(), reason=reason)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    db.session.flush()
    return removed, revoked


def membership_ended(*, claim_id: int, household_id: int, resident_id: int, cause: str) -> None:
    """Take the resident out of the household's members in every consultation not yet closed,
    and revoke the live delegations of that household they gave or held there."""
    removed, revoked = leave_open_electorates(resident_id, household_id)
    log.info(
        "membership %s ended (%s): %d elector rows removed, %d delegations revoked",
        claim_id,
        cause,
        removed,
        revoked,
    )
