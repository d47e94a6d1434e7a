"""Residents' reasons (居民意见): what the households said about the plan beside their choice.

Per plan item of a plan satisfaction consultation: how many households support it, oppose it or
are neutral, and the comments they gave; and the comments on the ballots themselves. All read
from the households' current ballots (`Ballot.item_opinions`, `Ballot.comment`), with the
official replies (`OpinionReply`) under them.

No household identity is ever shown: a comment's `id` is an opaque token (a keyed hash of the
ballot and the plan item, so one household's comments cannot be linked to one another, nor to
a turnout row by an id that grows as households vote), and comments carry no time and are
listed in the order of their tokens, so neither their order nor a time matches the turnout
list. Who may read them and when is `voting.queries.visibility` (the routes check it first).

The opinions live in JSON, so they are counted in Python over one column-only read of the
consultation's ballots: a read of staff (live) or of everyone after the close, never a
resident's hot path. The comments are paged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select

from api.core import db
from participation.models import PlanItem
from voting.models import Ballot, Consultation, OpinionReply

OPINIONS = ("support", "oppose", "neutral")


@dataclass
class ResidentComment:
    """A comment as it is shown: its token, the plan item it is about (None: the ballot's own
    comment), the opinion given on that item, the text, and the official replies."""

    id: str
    ballot_id: int
    plan_item_id: int | None
    opinion: str | None
    body: str
    replies: list = field(default_factory=list)


def comment_token(consultation_id: int, ballot_id: int, plan_item_id: int | None) -> str:
    """The opaque id of a comment: stable while SECRET_KEY is, meaningless without it."""
    key = current_app.config["SECRET_KEY"].encode()
    message = f"opinion:{consultation_id}:{ballot_id}:{plan_item_id or 0}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def ballots_cast(consultation_id: int) -> int:
    """How many households have a ballot now (the live count `RESULTS_MIN_BALLOTS` is
    compared with)."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Ballot)
            .where(Ballot.consultation_id == consultation_id)
        )
    )


def _said(consultation_id: int):
    """(ballot id, item opinions, comment) of every current ballot, in id order."""
    return db.session.execute(
        select(Ballot.id, Ballot.item_opinions, Ballot.comment)
        .where(Ballot.consultation_id == consultation_id)
        .order_by(Ballot.id)
    )


def _item_opinions(raw) -> list[tuple[int, str | None, str | None]]:
    """(plan item id, opinion, comment) from a ballot's `item_opinions`."""
    if not isinstance(raw, dict):
        return []
    said = []
    for key, value in raw.items():
        if not (isinstance(key, str) and key.isdigit()) or not isinstance(value, dict):
            continue
        opinion = value.get("opinion") if value.get("opinion") in OPINIONS else None
        comment = value.get("comment") if isinstance(value.get("comment"), str) else None
        said.append((int(key), opinion, comment.strip() if comment else None))
    return said


def plan_items(consultation: Consultation) -> list[PlanItem]:
    """The items residents gave opinions on: the plan's, for a plan satisfaction consultation."""
    if consultation.kind != "plan_satisfaction" or consultation.plan_id is None:
        return []
    return list(
        db.session.scalars(
            select(PlanItem)
            .where(PlanItem.plan_id == consultation.plan_id)
            .order_by(PlanItem.position)
        )
    )


def opinion_counts(consultation: Consultation) -> dict:
    """What `GET /consultations/{id}/opinions` answers: per plan item, the households that
    support, oppose or are neutral and how many of them commented; how many ballots carry a
    comment of their own."""
    items = plan_items(consultation)
    counts = {item.id: dict.fromkeys((*OPINIONS, "comments"), 0) for item in items}
    voted = ballot_comments = 0
    for _, raw, comment in _said(consultation.id):
        voted += 1
        if comment and comment.strip():
            ballot_comments += 1
        for item_id, opinion, item_comment in _item_opinions(raw):
            if item_id not in counts:
                continue
            if opinion is not None:
                counts[item_id][opinion] += 1
            if item_comment:
                counts[item_id]["comments"] += 1
    return {
        "consultation_id": consultation.id,
        "plan_id": consultation.plan_id if items else None,
        "final": consultation.status == "closed",
        "voted": voted,
        "eligible": consultation.eligible_households,
        "ballot_comments": ballot_comments,
        "items": [
            {
                "plan_item_id": item.id,
                "position": item.position,
                "category": item.category,
                "description": item.description,
                **counts[item.id],
            }
            for item in items
        ],
    }


def resident_comments(
    consultation: Consultation, plan_item_id: int | None = None
) -> list[ResidentComment]:
    """Every comment of the consultation's current ballots (only those on `plan_item_id` when
    given), in the order of their tokens; without replies."""
    known = {item.id for item in plan_items(consultation)}
    comments = []
    for ballot_id, raw, comment in _said(consultation.id):
        if plan_item_id is None and comment and comment.strip():
            token = comment_token(consultation.id, ballot_id, None)
            comments.append(ResidentComment(token, ballot_id, None, None, comment.strip()))
        for item_id, opinion, item_comment in _item_opinions(raw):
            if not item_comment or item_id not in known:
                continue
            if plan_item_id is not None and item_id != plan_item_id:
                continue
            token = comment_token(consultation.id, ballot_id, item_id)
            comments.append(ResidentComment(token, ballot_id, item_id, opinion, item_comment))
    comments.sort(key=lambda c: c.id)
    return comments


def find_comment(consultation: Consultation, comment_id: str) -> ResidentComment | None:
    """The consultation's comment with this token, or None (also for another consultation's)."""
    for comment in resident_comments(consultation):
        if hmac.compare_digest(comment.id, comment_id):
            return comment
    return None


def with_replies(consultation: Consultation, comments: list[ResidentComment]) -> None:
    """Attach to each comment the official replies to it, oldest first."""
    ballot_ids = {c.ballot_id for c in comments}
    if not ballot_ids:
        return
    replies = defaultdict(list)
    for reply in db.session.scalars(
        select(OpinionReply)
        .where(
            OpinionReply.consultation_id == consultation.id,
            OpinionReply.ballot_id.in_(ballot_ids),
        )
        .order_by(OpinionReply.created_at, OpinionReply.id)
    ):
        replies[(reply.ballot_id, reply.plan_item_id)].append(reply)
    for comment in comments:
        comment.replies = replies.get((comment.ballot_id, comment.plan_item_id), [])


def comments_page(
    consultation: Consultation, page: int, per_page: int, plan_item_id: int | None = None
) -> dict:
    """One page of the comments (`resident_comments`) with their replies: what
    `GET /consultations/{id}/comments` answers."""
    comments = resident_comments(consultation, plan_item_id)
    shown = comments[(page - 1) * per_page : page * per_page]
    with_replies(consultation, shown)
    return {"items": shown, "page": page, "per_page": per_page, "total": len(comments)}
