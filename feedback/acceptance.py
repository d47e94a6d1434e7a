"""The joint completion acceptance (竣工联合验收) with residents' representatives.

The project owner records, once per project and while it is `completed`: the date, the verdict
and remarks of the design, construction and supervision companies, the residents'
representatives (verified members of covered households) with theirs, and the completion
satisfaction as it stood at that moment. The project may move to `accepted` only with such a
record and no `fail` among its verdicts.

Functions flush, never commit.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core import LOCAL, Conflict, InvalidInput, UTCDateTime, db, utcnow
from feedback import jobs
from participation.models import Household, HouseholdClaim, Project, Resident, Staff

PARTY_ROLES = ("design", "construction", "supervision")
VERDICTS = ("pass", "conditional", "fail")


def _in(values) -> str:
    return "IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Acceptance(db.Model):
    """The record of a project's joint completion acceptance: one per project."""

    __tablename__ = "acceptances"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), unique=True)
    held_on: Mapped[date] = mapped_column(Date)
    remarks: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    # The completion satisfaction when the acceptance was recorded, copied, not referenced.
    completion_satisfaction_rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    completion_means: Mapped[dict | None] = mapped_column(JSON)
    completion_ratings: Mapped[int] = mapped_column(Integer, default=0)
    completion_computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parties: Mapped[list[AcceptanceParty]] = relationship(
        cascade="all, delete-orphan", order_by="AcceptanceParty.id"
    )
    representatives: Mapped[list[AcceptanceRepresentative]] = relationship(
        cascade="all, delete-orphan", order_by="AcceptanceRepresentative.id"
    )

    @property
    def verdicts(self) -> list[str]:
        return [p.verdict for p in self.parties] + [r.verdict for r in self.representatives]

    @property
    def passed(self) -> bool:
        return "fail" not in self.verdicts


class AcceptanceParty(db.Model):
    """A company taking part in the acceptance, and its verdict."""

    __tablename__ = "acceptance_parties"
    __table_args__ = (
        UniqueConstraint("acceptance_id", "role"),
        CheckConstraint(f"role {_in(PARTY_ROLES)}", name="role_known"),
        CheckConstraint(f"verdict {_in(VERDICTS)}", name="verdict_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    acceptance_id: Mapped[int] = mapped_column(ForeignKey("acceptances.id"))
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(12))
    remarks: Mapped[str | None] = mapped_column(Text)


class AcceptanceRepresentative(db.Model):
    """A residents' representative (居民代表) at the acceptance, and their verdict."""

    __tablename__ = "acceptance_representatives"
    __table_args__ = (
        UniqueConstraint("acceptance_id", "resident_id"),
        CheckConstraint(f"verdict {_in(VERDICTS)}", name="verdict_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    acceptance_id: Mapped[int] = mapped_column(ForeignKey("acceptances.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    verdict: Mapped[str] = mapped_column(String(12))
    remarks: Mapped[str | None] = mapped_column(Text)

    resident: Mapped[Resident] = relationship()


class AcceptanceMissing(Conflict):
    code = "acceptance_missing"
    message = "尚未登记竣工联合验收记录，项目不能转为已验收"


class AcceptanceFailed(Conflict):
    code = "acceptance_failed"
    message = "竣工联合验收有不通过的意见，项目不能转为已验收"


def of_project(project: Project) -> Acceptance | None:
    return db.session.scalar(select(Acceptance).where(Acceptance.project_id == project.id))


def require_acceptance(project: Project) -> None:
    """The check before `accepted`: a recorded acceptance without any `fail` verdict (409)."""
    acceptance = of_project(project)
    if acceptance is None:
        raise AcceptanceMissing()
    if not acceptance.passed:
        failed = [p.role for p in acceptance.parties if p.verdict == "fail"]
        failed += [
            f"representative:{r.resident_id}"
            for r in acceptance.representatives
            if r.verdict == "fail"
        ]
        raise AcceptanceFailed(details={"failed": failed})


def _representative_households(project: Project, resident_ids: list[int]) -> dict[int, int]:
    """resident id -> a covered household they are a verified member of (lowest id)."""
    estate_ids = [e.id for e in project.estates]
    rows = db.session.execute(
        select(HouseholdClaim.resident_id, HouseholdClaim.household_id)
        .join(Household, Household.id == HouseholdClaim.household_id)
        .where(
            HouseholdClaim.resident_id.in_(resident_ids),
            HouseholdClaim.status == "verified",
            Household.estate_id.in_(estate_ids),
        )
        .order_by(HouseholdClaim.household_id)
    ).all()
    found: dict[int, int] = {}
    for resident_id, household_id in rows:
        found.setdefault(resident_id, household_id)
    return found


def record(project: Project, staff: Staff, args: dict) -> Acceptance:
    """Record the acceptance of a completed project, with the completion satisfaction now.

    Refuses a project that is not `completed` (409 `project_not_completed`), a second record
    (409 `acceptance_exists`), a date in the future (422 `held_on_in_future`), a party role
    twice or missing (422 `parties_invalid`), and representatives who are not verified members
    of a covered household (422 `representative_not_eligible`).
    """
    if project.status != "completed":
        raise Conflict(
            "项目竣工后、验收前才能登记联合验收",
            code="project_not_completed",
            details={"status": project.status},
        )
    if of_project(project) is not None:
        raise Conflict("本项目已登记联合验收记录", code="acceptance_exists")
    if args["held_on"] > utcnow().astimezone(LOCAL).date():
        raise InvalidInput("验收日期不能晚于今天", code="held_on_in_future")
    roles = [p["role"] for p in args["parties"]]
    if sorted(roles) != sorted(PARTY_ROLES):
        raise InvalidInput(
            "须填写设计、施工、监理单位各一家",
            code="parties_invalid",
            details={"roles": roles, "expected": list(PARTY_ROLES)},
        )
    resident_ids = [r["resident_id"] for r in args["representatives"]]
    if len(set(resident_ids)) != len(resident_ids):
        raise InvalidInput("居民代表不能重复", code="representatives_repeated")
    households = _representative_households(project, resident_ids)
    missing = [r for r in resident_ids if r not in households]
    if missing:
        raise InvalidInput(
            "居民代表须是本项目所涉小区的已认证住户",
            code="representative_not_eligible",
            details={"resident_ids": missing},
        )
    # The figure "at that moment": counted now, not as the last job left it.
    jobs.recompute(project.id)
    acceptance = Acceptance(
        project_id=project.id,
        held_on=args["held_on"],
        remarks=args.get("remarks"),
        recorded_by_id=staff.id,
        completion_satisfaction_rate=project.completion_satisfaction_rate,
        completion_means=project.completion_means,
        completion_ratings=project.completion_ratings or 0,
        completion_computed_at=project.completion_computed_at,
        created_at=utcnow(),
        parties=[AcceptanceParty(**p) for p in args["parties"]],
        representatives=[
            AcceptanceRepresentative(household_id=households[r["resident_id"]], **r)
            for r in args["representatives"]
        ],
    )
    db.session.add(acceptance)
    db.session.flush()
    return acceptance
