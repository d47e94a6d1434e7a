"""Completion ratings (竣工评价): each household rates a finished project once, 1–5 per dimension.

The rating window opens when the project moves to `completed` and closes `RATING_WINDOW` later;
until then a household's new rating replaces its old one (`revision` + 1). The completion
satisfaction is derived from the ratings by `feedback.jobs`, never counted here.

Functions flush, never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Integer, Text, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from api.core import Conflict, Forbidden, InvalidInput, UTCDateTime, db, utcnow
from participation.models import Project, Resident
from participation.queries import project_household_ids

RATING_WINDOW = timedelta(days=30)
DIMENSIONS = ("quality", "environment", "facilities", "site_management", "overall")
RATED_STATUSES = ("completed", "accepted")
SATISFIED_FROM = 4  # an overall score of 4 or 5 counts as satisfied


class Rating(db.Model):
    """A household's rating of a completed project (竣工满意度评价): one per household."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("project_id", "household_id"),
        *(CheckConstraint(f"{d} BETWEEN 1 AND 5", name=f"{d}_in_range") for d in DIMENSIONS),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))  # who rated last
    quality: Mapped[int] = mapped_column(Integer)
    environment: Mapped[int] = mapped_column(Integer)
    facilities: Mapped[int] = mapped_column(Integer)
    site_management: Mapped[int] = mapped_column(Integer)
    overall: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RatingClosed(Conflict):
    code = "rating_closed"
    message = "评价期已结束，不能再提交或修改评价"


def open_rating_window(project: Project) -> None:
    """Called as the project moves to `completed`: households may rate it for 30 days."""
    project.rating_closes_at = utcnow() + RATING_WINDOW
    db.session.flush()


def window_open(project: Project, now: datetime) -> bool:
    return (
        project.status in RATED_STATUSES
        and project.rating_closes_at is not None
        and now < project.rating_closes_at
    )


def household_of(project: Project, resident: Resident, household_id: int | None = None) -> int:
    """The covered household the resident rates for (403 none, 422 ambiguous or not theirs)."""
    households = project_household_ids(resident, project)
    if not households:
        raise Forbidden("您不是本项目所涉小区的已认证住户", code="not_resident_of_estate")
    if household_id is None:
        if len(households) > 1:
            raise InvalidInput(
                "您属于多个住户，请指定为哪一户评价",
                code="household_required",
                details={"households": households},
            )
        return households[0]
    if household_id not in households:
        raise InvalidInput("您不是该户的已认证住户", code="not_household_member")
    return household_id


def rate(project: Project, resident: Resident, args: dict) -> tuple[Rating, bool]:
    """Rate (or re-rate) for the resident's household; (the rating, whether it is new).

    Refuses before completion (409 `rating_not_open`) and after the window (409
    `rating_closed`). An upsert on (project, household): two members rating at once leave one
    rating, the later one, with both revisions counted.
    """
    household_id = household_of(project, resident, args.get("household_id"))
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
    dialect = db.session.get_bind().dialect.name
    table = Rating.__table__
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(values)
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


def household_rating(project: Project, household_id: int) -> Rating | None:
    return db.session.scalar(
        select(Rating).where(Rating.project_id == project.id, Rating.household_id == household_id)
    )


class CompletionTally(db.Model):
    """The latest count of a project's ratings, written by the completion job.

    `changes_seen` is the sum of rating revisions the count saw: when the ratings' sum is
    larger, the figure is stale and the reconciler recomputes it.
    """

    __tablename__ = "completion_tallies"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    changes_seen: Mapped[int] = mapped_column(Integer, default=0)
    ratings: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    runs: Mapped[int] = mapped_column(Integer, default=0)
