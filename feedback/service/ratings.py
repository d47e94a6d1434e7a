"""Completion ratings (竣工评价) and the completion satisfaction they give.

The rating window opens when the project moves to `completed` (`open_rating_window`, an
effect `api.app.wire_domains` registers) and closes `RATING_WINDOW` later; until then a
household's new rating replaces its old one. `recompute` counts the ratings into the
project's completion fields; the completion job (`feedback.jobs`) calls it after ratings.

Functions flush, never commit.
"""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy import case, func, select

from api.core import Conflict, db, dialect_insert, rounded, utcnow
from feedback.models.ratings import (
    DIMENSIONS,
    RATED_STATUSES,
    RATING_WINDOW,
    SATISFIED_FROM,
    CompletionTally,
    Rating,
)
from feedback.policy import rating_household, window_open
from participation.models import Project, Resident


class RatingClosed(Conflict):
    code = "rating_closed"
    message = "评价期已结束，不能再提交或修改评价"


def open_rating_window(project: Project) -> None:
    """Called as the project moves to `completed`: households may rate it for 30 days."""
    project.rating_closes_at = utcnow() + RATING_WINDOW
    db.session.flush()


def rate(project: Project, resident: Resident, args: dict) -> tuple[Rating, bool]:
    """Rate (or re-rate) for the resident's household; (the rating, whether it is new).

    Refuses before completion (409 `rating_not_open`) and after the window (409
    `rating_closed`). An upsert on (project, household): two members rating at once leave one
    rating, the later one, with both revisions counted.
    """
    household_id = rating_household(project, resident, args.get("household_id"))
    now = utcnow()
    if project.status not in RATED_STATUSES or project.rating_closes_at is None:
        raise Conflict("项目竣工后才能评价", code="rating_not_open")
    if not window_open(project, now):
        raise RatingClosed(details={"closed_at": project.rating_closes_at.isoformat()})
    values = {
        "project_id": project.id,
        "household_id": household_id,
        "resident_id": resident.id,
        **{d: args[d] for d in DIMENSIONS},
        "comment": args.get("comment"),
        "revision": 1,
        "created_at": now,
        "updated_at": now,
    }
    table = Rating.__table__
    stmt = dialect_insert(table).values(values)
    changing = ("resident_id", *DIMENSIONS, "comment", "updated_at")
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.project_id, table.c.household_id],
        set_={**{c: stmt.excluded[c] for c in changing}, "revision": table.c.revision + 1},
    ).returning(table.c.id, table.c.revision)
    row = db.session.execute(stmt).one()
    rating = db.session.scalar(
        select(Rating).where(Rating.id == row.id).execution_options(populate_existing=True)
    )
    return rating, row.revision == 1


def _locked_tally(project_id: int) -> CompletionTally:
    """The project's tally row, created if missing, locked FOR UPDATE: counts of one project
    are serialised, so a slower, older count never overwrites a newer one."""
    db.session.execute(
        dialect_insert(CompletionTally)
        .values(project_id=project_id, changes_seen=0, ratings=0, satisfied=0, runs=0)
        .on_conflict_do_nothing()
    )
    return db.session.scalar(
        select(CompletionTally)
        .where(CompletionTally.project_id == project_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def recompute(project_id: int) -> CompletionTally | None:
    """Count the project's ratings in one SQL statement and write the figures.

    Completion satisfaction = households rating overall 4 or 5 / households that rated; the
    mean of each dimension to 2 places. Flushes; the caller commits.
    """
    if db.session.get(Project, project_id) is None:
        return None
    tally = _locked_tally(project_id)
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Rating.overall >= SATISFIED_FROM, 1), else_=0)), 0),
            func.coalesce(func.sum(Rating.revision), 0),
            *(func.coalesce(func.sum(getattr(Rating, d)), 0) for d in DIMENSIONS),
        ).where(Rating.project_id == project_id)
    ).one()
    count, satisfied, changes, *sums = (int(v) for v in row)
    now = utcnow()
    tally.ratings, tally.satisfied, tally.changes_seen = count, satisfied, changes
    tally.computed_at = now
    tally.runs = (tally.runs or 0) + 1
    project = db.session.scalar(
        select(Project).where(Project.id == project_id).execution_options(populate_existing=True)
    )
    project.completion_ratings = count
    project.completion_satisfaction_rate = rounded(
        Fraction(satisfied, count) if count else None, "0.000001"
    )
    project.completion_means = {
        d: (float(rounded(Fraction(total, count), "0.01")) if count else None)
        for d, total in zip(DIMENSIONS, sums, strict=True)
    }
    project.completion_computed_at = now
    db.session.flush()
    return tally
