"""Building blocks of worlds: the registry, staff, projects and tokens that tests, the benchmarks
and tools start from, built straight into the database.

Each block adds its rows to `db.session` and flushes, so their ids are known, and never
commits: a world is a composition of blocks, committed once by whoever builds it. They need an
app context. `Maker` wraps them for tests that build one row at a time: it commits each row and
hands it back detached.

Passwords are hashed once per password, at a low work factor (werkzeug's default scrypt is slow
on purpose; a world signs the same few accounts in again and again).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from api import auth
from api.core import db
from participation import queries
from participation.models import (
    Building,
    Community,
    County,
    Estate,
    Household,
    HouseholdClaim,
    Milestone,
    Plan,
    PlanItem,
    PrivacyConsent,
    Project,
    Resident,
    RoleGrant,
    Staff,
)
from participation.models.projects import MILESTONES

NO_PASSWORD = "x"  # a password hash no password matches: accounts that sign in by token only


def _added(obj):
    db.session.add(obj)
    db.session.flush()
    return obj


def _id(obj_or_id) -> int | None:
    return getattr(obj_or_id, "id", obj_or_id)


# --- the registry ------------------------------------------------------------------------------


def county(name: str) -> County:
    return _added(County(name=name))


def community(county, name: str) -> Community:
    return _added(Community(county_id=_id(county), name=name))


def estate(community, name: str) -> Estate:
    return _added(Estate(community_id=_id(community), name=name))


def building(estate, name: str = "1栋") -> Building:
    """The estate's building called `name`, made if it is not there yet."""
    estate_id = _id(estate)
    found = db.session.scalar(
        select(Building).where(Building.estate_id == estate_id, Building.name == name).limit(1)
    )
    return found or _added(Building(estate_id=estate_id, name=name))


def household(
    estate,
    room: str,
    *,
    building_name: str = "1栋",
    unit: str = "1单元",
    owner_name: str = "张三",
    phone: str = "1234",
    area: str = "88.50",
) -> Household:
    """A household of the roster, in its building (made if needed)."""
    return _added(
        Household(
            estate_id=_id(estate),
            building_id=building(estate, building_name).id,
            unit=unit,
            room=room,
            floor_area=Decimal(area),
            owner_name=owner_name,
            owner_phone_last4=phone,
        )
    )


def households(
    estate,
    building,
    count: int,
    *,
    area: str = "80.00",
    areas: Sequence[str] | None = None,
    owner_name=lambda i: f"业主{i}",
    phone: str = "1234",
) -> list[int]:
    """`count` households in one building, rooms 00001…, in one INSERT; their ids, by room."""
    return list(
        db.session.scalars(
            insert(Household).returning(Household.id, sort_by_parameter_order=True),
            [
                {
                    "estate_id": _id(estate),
                    "building_id": _id(building),
                    "unit": "1单元",
                    "room": f"{i + 1:05d}",
                    "floor_area": Decimal(areas[i] if areas else area),
                    "owner_name": owner_name(i),
                    "owner_phone_last4": phone,
                }
                for i in range(count)
            ],
        )
    )


def resident(openid: str, nickname: str | None = None, *, consented: bool = True) -> Resident:
    """A resident who has accepted the privacy notice in force (`consented=False`: one who
    signed in and has not yet)."""
    person = _added(Resident(openid=openid, nickname=nickname))
    if consented:
        consent(person)
    return person


def privacy_version() -> str:
    """The version of the privacy notice in force."""
    return queries.privacy_notice().version


def consent(resident, version: str | None = None) -> PrivacyConsent:
    """`resident`'s acceptance of the privacy notice (the one in force unless `version`)."""
    return _added(PrivacyConsent(resident_id=_id(resident), version=version or privacy_version()))


def claim(
    resident,
    household: Household,
    *,
    status: str = "verified",
    relation: str = "owner",
    claimed_name: str | None = None,
    claimed_phone: str | None = None,
) -> HouseholdClaim:
    """`resident`'s claim on `household` (verified: a membership), as typed from the roster."""
    community_id = db.session.get(Estate, household.estate_id).community_id
    return _added(
        HouseholdClaim(
            resident_id=_id(resident),
            household_id=household.id,
            community_id=community_id,
            relation=relation,
            claimed_name=household.owner_name if claimed_name is None else claimed_name,
            claimed_phone_last4=household.owner_phone_last4
            if claimed_phone is None
            else claimed_phone,
            status=status,
        )
    )


def member(
    openid: str, nickname: str | None, household: Household, status: str = "verified", **claimed
) -> Resident:
    """A resident holding a claim (verified by default) on `household`."""
    person = resident(openid, nickname)
    claim(person, household, status=status, **claimed)
    return person


def members(
    household_ids: Iterable[int],
    community,
    *,
    openid=lambda household_id: f"scene-{household_id}",
    nickname=lambda household_id: f"居民{household_id}",
    claimed_name: str = "x",
    phone: str = "1234",
) -> list[int]:
    """One resident with a verified claim per household, who accepted the privacy notice in
    force, in three INSERTs; their ids, in the households' order."""
    household_ids = list(household_ids)
    resident_ids = list(
        db.session.scalars(
            insert(Resident).returning(Resident.id, sort_by_parameter_order=True),
            [{"openid": openid(h), "nickname": nickname(h)} for h in household_ids],
        )
    )
    db.session.execute(
        insert(HouseholdClaim),
        [
            {
                "resident_id": r,
                "household_id": h,
                "community_id": _id(community),
                "relation": "owner",
                "claimed_name": claimed_name,
                "claimed_phone_last4": phone,
                "status": "verified",
            }
            for r, h in zip(resident_ids, household_ids, strict=True)
        ],
    )
    version = privacy_version()
    db.session.execute(
        insert(PrivacyConsent), [{"resident_id": r, "version": version} for r in resident_ids]
    )
    return resident_ids


# --- staff ---------------------------------------------------------------------------------------


# scrypt at a low work factor: the app checks these hashes with the one function it checks every
# hash with (the cost is written in the hash), some 35 times faster than its default, which the
# accounts the app itself makes keep. Worlds sign staff in hundreds of times.
HASH_METHOD = "scrypt:1024:8:1"


@functools.cache
def password_hash(password: str) -> str:
    """A hash of `password` that `api.auth.password_matches` accepts, made once per password."""
    return generate_password_hash(password, method=HASH_METHOD)


def staff(
    username: str,
    *grants: tuple[str, object],
    display_name: str | None = None,
    password: str | None = None,
    hashed: str = NO_PASSWORD,
) -> Staff:
    """A staff account with a grant per `(role, scope)` (scope an object, an id or None).

    Without `password` no password signs it in (`hashed` is stored as is): tests use tokens.
    """
    account = _added(
        Staff(
            username=username,
            display_name=display_name,
            password_hash=password_hash(password) if password is not None else hashed,
        )
    )
    for role, scope in grants:
        grant(account, role, scope)
    return account


def grant(account, role: str, scope=None) -> RoleGrant:
    return _added(RoleGrant(staff_id=_id(account), role=role, scope_id=_id(scope)))


# --- projects ------------------------------------------------------------------------------------


def project(
    county,
    estates: Sequence[Estate],
    name: str,
    *,
    status: str = "consulting",
    category: str = "basic",
    plan_year: int = 2027,
    **columns,
) -> Project:
    """A project on `estates` (loaded in this session), in `status`."""
    return _added(
        Project(
            county_id=_id(county),
            name=name,
            category=category,
            plan_year=plan_year,
            status=status,
            estates=list(estates),
            **columns,
        )
    )


def milestones(project: Project, due: dict[str, date] | None = None) -> list[Milestone]:
    """The policy's milestones of `project`, due as the policy sets them for its plan year
    unless `due` says otherwise."""
    if due is None:
        due = {
            kind: date(project.plan_year + years, month, day)
            for kind, (month, day, years) in MILESTONES.items()
        }
    rows = [Milestone(project_id=project.id, kind=kind, due_on=on) for kind, on in due.items()]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def plan(
    project,
    created_by,
    items: Sequence[tuple[str, str, str]] = (("lighting", "路灯", "1000"),),
    version: int = 1,
) -> Plan:
    """Plan version `version` of `project`: one item per `(category, description, cost)`."""
    return _added(
        Plan(
            project_id=_id(project),
            version=version,
            created_by_id=_id(created_by),
            items=[
                PlanItem(
                    position=position,
                    category=category,
                    description=description,
                    estimated_cost=Decimal(cost),
                )
                for position, (category, description, cost) in enumerate(items, start=1)
            ],
        )
    )


# --- tokens --------------------------------------------------------------------------------------


def token(who) -> str:
    """A bearer token for a resident (carrying their consent to the privacy notice in force,
    which the factory's residents have given) or a staff member (needs an app context)."""
    if isinstance(who, Resident):
        return resident_token(who.id)
    return auth.staff_token(who)


IN_FORCE = object()  # resident_token's default: the privacy notice in force


def resident_token(resident_id: int, consent: str | None | object = IN_FORCE) -> str:
    """A bearer token for the resident with this id, carrying `consent`: the version of the
    privacy notice in force by default, None for a resident who has not consented, or another
    version's name (needs an app context)."""
    version = privacy_version() if consent is IN_FORCE else consent
    return auth.issue_token(auth.RESIDENT, resident_id, consent=version)


def headers(who) -> dict:
    """Request headers signed in as `who`; none for None (anonymous)."""
    return {} if who is None else {"Authorization": f"Bearer {token(who)}"}


def detached(*objects):
    """Load every column of `objects`, then detach them, so they outlive their session."""
    for obj in objects:
        db.session.refresh(obj)
        db.session.expunge(obj)
    return objects[0] if len(objects) == 1 else objects


# --- one row at a time ---------------------------------------------------------------------------


class Maker:
    """Registry rows and staff one at a time, each committed and handed back detached, with
    names numbered so that none collides (县1, 社区2, openid-3, …); and tokens for them."""

    def __init__(self, app, start: int = 0):
        self.app = app
        self._n = start

    def _next(self) -> int:
        self._n += 1
        return self._n

    def _commit(self, build):
        with self.app.app_context():
            obj = build()
            db.session.commit()
            return detached(obj)

    def county(self, name=None):
        return self._commit(lambda: county(name or f"县{self._next()}"))

    def community(self, county=None, name=None):
        county = county or self.county()
        return self._commit(lambda: community(county, name or f"社区{self._next()}"))

    def estate(self, community=None, name=None):
        community = community or self.community()
        return self._commit(lambda: estate(community, name or f"小区{self._next()}"))

    def household(
        self,
        estate=None,
        building="1栋",
        unit="1单元",
        room=None,
        name="张三",
        phone="1234",
        area="88.50",
    ):
        estate = estate or self.estate()
        return self._commit(
            lambda: household(
                estate,
                room or str(100 + self._next()),
                building_name=building,
                unit=unit,
                owner_name=name,
                phone=phone,
                area=area,
            )
        )

    def resident(self, nickname=None, consented=True):
        n = self._next()
        return self._commit(
            lambda: resident(f"openid-{n}", nickname or f"居民{n}", consented=consented)
        )

    def member(self, household, resident=None, status="verified", relation="owner"):
        """A resident holding a claim (verified by default) on `household`."""
        resident = resident or self.resident()
        with self.app.app_context():
            claim(
                resident, db.session.get(Household, household.id), status=status, relation=relation
            )
            db.session.commit()
        return resident

    def staff(self, role=None, scope=None, username=None, password="correct-horse-1"):
        n = self._next()
        grants = [(role, scope)] if role else []
        return self._commit(
            lambda: staff(
                username or f"staff{n}", *grants, display_name=f"工作人员{n}", password=password
            )
        )

    def token(self, who) -> str:
        with self.app.test_request_context():
            return token(who)

    def headers(self, who) -> dict:
        return {"Authorization": f"Bearer {self.token(who)}"}
