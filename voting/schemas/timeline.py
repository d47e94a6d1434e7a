"""A project's consultations on its timeline (participation's `TimelineEntrySchema`): when each
opened, and when it closed or is to close. A draft is no event: it is not on the timeline, nor
is the time a draft is scheduled to open (which only its organisers see). No result either:
what a count shows, and to whom, is the gate's and the tally's replies' to say."""

from __future__ import annotations

from api.core import labels, local_text
from participation.schemas.timeline import entry
from voting.models import Consultation


def consultation_entries(consultations: list[Consultation]) -> list[dict]:
    """Each opened consultation's opening, and its close: `consultation_closed` once closed,
    else `consultation_closes` at the time it is to close (if it has one)."""
    found = []
    for c in consultations:
        if c.opened_at is None:
            continue
        kind = labels.CONSULTATION_KINDS[c.kind]
        refs = {
            "consultation_id": c.id,
            "consultation_kind": c.kind,
            "consultation_kind_label": kind,
        }
        until = f"，截止时间为{local_text(c.closes_at)}" if c.closes_at is not None else ""
        found.append(
            entry(c.opened_at, "consultation_opened", c.title, f"{kind}开始{until}", **refs)
        )
        if c.closed_at is not None:
            found.append(
                entry(c.closed_at, "consultation_closed", c.title, f"{kind}已结束", **refs)
            )
        elif c.closes_at is not None:
            found.append(entry(c.closes_at, "consultation_closes", c.title, f"{kind}截止", **refs))
    return found
