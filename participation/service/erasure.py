"""Erasing a resident's personal data (PIPL art. 47: at their request, `DELETE /me`, or once
the retention period has passed since their last sign-in, `participation.jobs`).

Each domain erases what it holds about a resident in its own `service` (voting, feedback,
notices: `service/personal.py` `erase`), registered here when the app is built
(`api.app.wire_domains`, `register_eraser`); `erase_resident` runs them all, then
participation's own part (`participation.service.personal.erase`), in the caller's
transaction. There is no way to erase only some domains: an app whose erasers were never wired
refuses to erase rather than leave data behind.

What stays: the resident's row, without anything that names the person (its id is what the
household's ballots, the counts and the audit trails point at), and every ballot, which belongs
to the household. Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select

from api.core import db, utcnow
from participation.models import HouseholdClaim, Resident
from participation.service import personal

_ERASERS = "resident_erasers"


def register_eraser(app: Flask, eraser: Callable[[int], object]) -> None:
    """Have `eraser(resident_id)` run whenever a resident of `app` is erased, in the same
    transaction and before participation's own part (so it still sees the resident's claims
    and row). An eraser flushes and never commits."""
    app.extensions.setdefault(_ERASERS, []).append(eraser)


def erase_resident(resident_id: int, now: datetime | None = None) -> bool:
    """Erase the resident's personal data in every domain (see the module docstring); False,
    and nothing written, when there is no such resident or they were erased already.

    The resident's claims are locked first, then their row: a consultation opening now reads
    the verified claims FOR SHARE (`voting.service.consultations.open_consultation`), so it
    either froze its members before this, and voting's eraser then finds and removes them, or
    waits and finds the claims gone. (In that order: the opening's members point at the
    resident's row, so taking the row first while the opening holds a claim would deadlock.)
    The row lock makes two erasures of one resident (a second `DELETE /me` racing the first,
    or the retention job) run one after the other, the second finding the work done.
    """
    erasers = current_app.extensions.get(_ERASERS)
    if erasers is None:
        raise RuntimeError("no resident erasers are wired: build the app with create_app")
    db.session.execute(
        select(HouseholdClaim.id).where(HouseholdClaim.resident_id == resident_id).with_for_update()
    )
    resident = db.session.scalar(
        select(Resident)
        .where(Resident.id == resident_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if resident is None or resident.erased_at is not None:
        return False
    for eraser in erasers:
        eraser(resident_id)
    personal.erase(resident, now or utcnow())
    db.session.flush()
    return True


def stale_resident_ids(days: int, now: datetime | None = None) -> list[int]:
    """The residents not erased yet whose last sign-in is more than `days` days ago, by id."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    return list(
        db.session.scalars(
            select(Resident.id)
            .where(Resident.erased_at.is_(None), Resident.last_login_at < cutoff)
            .order_by(Resident.id)
        )
    )
