"""Places, the household roster, residents, staff and their grants."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core import UTCDateTime, choice_check, db, labels, utcnow

ROLES = tuple(labels.ROLES)
RELATIONS = tuple(labels.RELATIONS)
CLAIM_STATUSES = tuple(labels.CLAIM_STATUSES)
# A live claim is pending or a membership (verified); the others are history.
LIVE_CLAIM_STATUSES = ("pending", "verified")
# The ends of a membership: the resident left, or a roster re-import revoked it.
ENDED_CLAIM_STATUSES = ("left", "revoked")


class County(db.Model):
    """A county or county-level city (县市)."""

    __tablename__ = "counties"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Community(db.Model):
    """A residents' community (社区), run by its committee (社区居委会)."""

    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("county_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    county: Mapped[County] = relationship()


class Estate(db.Model):
    """A residential estate (小区) in a community."""

    __tablename__ = "estates"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    community: Mapped[Community] = relationship()


class Building(db.Model):
    """A building (楼栋) of an estate, named as the roster names it."""

    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("estate_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))


class Household(db.Model):
    """A household (户): one dwelling in the committee's roster, with its owner of record."""

    __tablename__ = "households"
    __table_args__ = (
        UniqueConstraint("building_id", "unit", "room"),
        CheckConstraint("floor_area > 0", name="floor_area_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    unit: Mapped[str] = mapped_column(String(20))
    room: Mapped[str] = mapped_column(String(20))
    floor_area: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    owner_name: Mapped[str] = mapped_column(String(100))
    owner_phone_last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    building: Mapped[Building] = relationship()
    estate: Mapped[Estate] = relationship()


class Resident(db.Model):
    """A resident (居民) signed in through the WeChat mini-program."""

    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64))
    nickname: Mapped[str | None] = mapped_column(String(100))
    # WeChat's session_key is not kept: nothing here decrypts WeChat's signed data, and a key
    # that is not stored cannot leak.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the resident's personal data was erased (PIPL: at their request or after the
    # retention period); the row stays for the ballots and counts that name it, but no token
    # signs it in again.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HouseholdClaim(db.Model):
    """A resident's claim to belong to a household; verified claims are memberships.

    What the resident typed is kept as given, so a clerk can compare it with the roster. A
    membership that ends stays as a row, for the record: `left` (the resident left the
    household) or `revoked` (a roster re-import changed the household's owner; `reason` says
    so), with `ended_at`; a new claim on the same household may follow either.
    """

    __tablename__ = "household_claims"
    __table_args__ = (
        choice_check("status", CLAIM_STATUSES),
        choice_check("relation", RELATIONS),
        Index("ix_household_claims_household_status", "household_id", "status"),
        Index("ix_household_claims_resident_status", "resident_id", "status"),
        CheckConstraint("(status IN ('left', 'revoked')) = (ended_at IS NOT NULL)", name="ended"),
        # One live (pending or verified) claim per resident and household; a rejected, left or
        # revoked one may be followed by another.
        Index(
            "uq_household_claims_live",
            "resident_id",
            "household_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'verified')"),
            sqlite_where=text("status IN ('pending', 'verified')"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    relation: Mapped[str] = mapped_column(String(10), default="owner")
    claimed_name: Mapped[str] = mapped_column(String(100))
    claimed_phone_last4: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # left or revoked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resident: Mapped[Resident] = relationship()
    household: Mapped[Household] = relationship()


class Staff(db.Model):
    """A staff account: committee clerk, project owner, county or prefecture officer."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    # Carried in the account's tokens: raising it (deactivation, a password reset) ends every
    # token issued before.
    token_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="staff",
        cascade="all, delete-orphan",
        order_by="RoleGrant.id",
        foreign_keys="RoleGrant.staff_id",
    )


class RoleGrant(db.Model):
    """A role held within a scope.

    `scope_id` names a county for `county`, a community for `committee`, a project for `owner`;
    `prefecture` covers everything and has no scope.
    """

    __tablename__ = "role_grants"
    __table_args__ = (
        UniqueConstraint("staff_id", "role", "scope_id"),
        choice_check("role", ROLES),
        CheckConstraint("(role = 'prefecture') = (scope_id IS NULL)", name="scope_matches_role"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[int | None]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[Staff] = relationship(back_populates="grants", foreign_keys=[staff_id])
