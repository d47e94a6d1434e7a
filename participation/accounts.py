"""Reads of staff accounts: whom a staff member manages (`policy.StaffRemit`), and the names of
the places and projects their grants cover. Nothing here writes.

The remit is given as any object with `everything`, `county_ids` and `community_ids`
(`participation.policy.StaffRemit`), so that this module needs nothing from the policy that
reads it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, exists, false, not_, or_, select
from sqlalchemy.orm import selectinload

from api.core import db
from participation.models import Community, County, Project, RoleGrant, Staff


def _grant_within(remit) -> ColumnElement[bool]:
    """A grant (RoleGrant's row) the remit's holder may grant: a county of theirs, a committee
    of a community in one of their counties or of their own community, an owner of a project
    in one of their counties."""
    counties = list(remit.county_ids)
    communities = list(remit.community_ids)
    return or_(
        and_(RoleGrant.role == "county", RoleGrant.scope_id.in_(counties)),
        and_(
            RoleGrant.role == "committee",
            or_(
                RoleGrant.scope_id.in_(communities),
                RoleGrant.scope_id.in_(
                    select(Community.id).where(Community.county_id.in_(counties))
                ),
            ),
        ),
        and_(
            RoleGrant.role == "owner",
            RoleGrant.scope_id.in_(select(Project.id).where(Project.county_id.in_(counties))),
        ),
    )


def _managed(remit) -> ColumnElement[bool]:
    """Staff's row lies in the remit: everyone for the prefecture; else an account with a grant
    whose grants all lie within the remit."""
    if remit.everything:
        return Staff.id.is_not(None)
    if not (remit.county_ids or remit.community_ids):
        return false()
    of_staff = RoleGrant.staff_id == Staff.id
    return and_(
        exists().where(of_staff),
        not_(exists().where(of_staff, not_(_grant_within(remit)))),
    )


def managed_staff(remit, search: str | None = None, active: bool | None = None) -> Select:
    """The accounts the remit covers, in id order, with their grants (one more statement for a
    page of them); `search` a part of the username (case-insensitive), `active` one state."""
    statement = (
        select(Staff).where(_managed(remit)).options(selectinload(Staff.grants)).order_by(Staff.id)
    )
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Staff.username.ilike(f"%{escaped}%", escape="\\"))
    if active is not None:
        statement = statement.where(Staff.active.is_(active))
    return statement


def managed_staff_id(remit, staff_id: int) -> bool:
    """The account `staff_id` lies in the remit (one statement)."""
    statement = select(Staff.id).where(Staff.id == staff_id, _managed(remit))
    return db.session.scalar(statement) is not None


def scope_names(grants) -> dict[tuple[str, int], str]:
    """The name of each grant's scope, `(role, scope_id) -> name`: counties, communities (with
    their county's name) and projects, one statement a kind that occurs."""
    wanted: dict[str, set[int]] = {"county": set(), "committee": set(), "owner": set()}
    for grant in grants:
        if grant.role in wanted and grant.scope_id is not None:
            wanted[grant.role].add(grant.scope_id)
    names: dict[tuple[str, int], str] = {}
    if wanted["county"]:
        rows = db.session.execute(
            select(County.id, County.name).where(County.id.in_(wanted["county"]))
        )
        names.update((("county", i), n) for i, n in rows)
    if wanted["committee"]:
        rows = db.session.execute(
            select(Community.id, County.name, Community.name)
            .join(County, County.id == Community.county_id)
            .where(Community.id.in_(wanted["committee"]))
        )
        names.update((("committee", i), f"{c}·{n}") for i, c, n in rows)
    if wanted["owner"]:
        rows = db.session.execute(
            select(Project.id, Project.name).where(Project.id.in_(wanted["owner"]))
        )
        names.update((("owner", i), n) for i, n in rows)
    return names


def grantable_places(remit) -> tuple[list[County], list[Community]]:
    """The counties and communities the remit's holder may grant roles in, in name order: every
    one for the prefecture; a county officer's counties and their communities; a clerk's own
    communities (and no county)."""
    counties = select(County).order_by(County.name, County.id)
    communities = select(Community).order_by(Community.county_id, Community.name, Community.id)
    if not remit.everything:
        counties = counties.where(County.id.in_(list(remit.county_ids)))
        communities = communities.where(
            or_(
                Community.county_id.in_(list(remit.county_ids)),
                Community.id.in_(list(remit.community_ids)),
            )
        )
    return list(db.session.scalars(counties)), list(db.session.scalars(communities))
