"""Who may publish, manage and see a notice, and which notices a resident may read.

Staff reach follows the target:
- a community, an estate or buildings of an estate: the community's committee, its county, the
  prefecture; for an estate or its buildings also the owner of a project covering the estate
  (a construction or water-cut notice for the buildings it works on);
- a project: its owner, its county, the prefecture, and a committee that covers every
  community the project reaches (a clerk does not publish to another community's residents);
  committees of any community it reaches may read it;
- one resident (a ticket answer, written by the system): as its project.
Notices a caller may not see are 404, so ids do not leak; seen but not managed is 403.
"""

from __future__ import annotations

from sqlalchemy import and_, false, or_, select, true

from api.core import Forbidden, NotFound, db
from notices.models import Notice, NoticeTarget
from participation.models import Community, Estate, Project, Resident, Staff, project_estates
from participation.policy import (
    covers_community,
    is_prefecture,
    manages_project,
    scope_ids,
    sees_project,
)
from participation.queries import verified_household_ids


def owns_project_on_estate(staff: Staff, estate_id: int) -> bool:
    owned = scope_ids(staff, "owner")
    if not owned:
        return False
    return (
        db.session.scalar(
            select(project_estates.c.project_id).where(
                project_estates.c.estate_id == estate_id,
                project_estates.c.project_id.in_(owned),
            )
        )
        is not None
    )


def may_publish_to_community(staff: Staff, community: Community) -> bool:
    return covers_community(staff, community)


def may_publish_to_estate(staff: Staff, estate: Estate) -> bool:
    return covers_community(staff, estate.community) or owns_project_on_estate(staff, estate.id)


def may_publish_to_project(staff: Staff, project: Project) -> bool:
    if manages_project(staff, project):
        return True
    communities = {estate.community for estate in project.estates}
    return bool(communities) and all(covers_community(staff, c) for c in communities)


def manages_notice(staff: Staff, notice: Notice) -> bool:
    """May edit, publish and withdraw it."""
    if notice.project_id is not None and notice.target_kind in ("project", "resident"):
        return may_publish_to_project(staff, db.session.get(Project, notice.project_id))
    if notice.estate_id is not None:
        return may_publish_to_estate(staff, db.session.get(Estate, notice.estate_id))
    return may_publish_to_community(staff, db.session.get(Community, notice.community_id))


def sees_notice(staff: Staff, notice: Notice) -> bool:
    """May read it, its receipts and deliveries."""
    if manages_notice(staff, notice):
        return True
    if notice.project_id is not None and notice.target_kind in ("project", "resident"):
        return sees_project(staff, db.session.get(Project, notice.project_id))
    return False


def require_sees(staff: Staff, notice: Notice) -> None:
    if not sees_notice(staff, notice):
        raise NotFound("找不到该公告", code="notice_not_found")


def require_manages(staff: Staff, notice: Notice) -> None:
    require_sees(staff, notice)
    if not manages_notice(staff, notice):
        raise Forbidden("您无权管理该公告", code="out_of_scope")


def may_publish(staff: Staff, target: dict) -> bool:
    """May write a notice for `target` (see `notices.queries.resolve_target`)."""
    if target["target_kind"] == "project":
        return may_publish_to_project(staff, target["project"])
    if target["target_kind"] == "community":
        return may_publish_to_community(staff, target["community"])
    return may_publish_to_estate(staff, target["estate"])


def require_may_publish(staff: Staff, target: dict) -> None:
    if not may_publish(staff, target):
        raise Forbidden("您无权向该范围发布公告", code="out_of_scope")


def visible_notices(staff: Staff):
    """The notices a staff member sees, as one SQL condition (the rules above, for lists)."""
    if is_prefecture(staff):
        return true()
    conditions = []
    counties = scope_ids(staff, "county")
    if counties:
        conditions.append(Notice.county_id.in_(counties))
    communities = scope_ids(staff, "committee")
    if communities:
        projects_reaching = (
            select(project_estates.c.project_id)
            .join(Estate, Estate.id == project_estates.c.estate_id)
            .where(Estate.community_id.in_(communities))
        )
        conditions.append(Notice.community_id.in_(communities))
        conditions.append(Notice.project_id.in_(projects_reaching))
    owned = scope_ids(staff, "owner")
    if owned:
        estates_worked = select(project_estates.c.estate_id).where(
            project_estates.c.project_id.in_(owned)
        )
        conditions.append(Notice.project_id.in_(owned))
        conditions.append(
            and_(
                Notice.target_kind.in_(("estate", "buildings")),
                Notice.estate_id.in_(estates_worked),
            )
        )
    return or_(*conditions) if conditions else false()


# --- residents -------------------------------------------------------------------------------


def resident_reached(resident: Resident, notice: Notice) -> bool:
    """The notice was published to one of the resident's verified households, or to them."""
    if notice.status not in ("published", "withdrawn") or notice.published_at is None:
        return False
    if notice.recipient_id is not None:
        return notice.recipient_id == resident.id
    households = verified_household_ids(resident)
    if not households:
        return False
    return (
        db.session.scalar(
            select(NoticeTarget.household_id)
            .where(NoticeTarget.notice_id == notice.id, NoticeTarget.household_id.in_(households))
            .limit(1)
        )
        is not None
    )


def require_resident_reached(resident: Resident, notice: Notice) -> None:
    if not resident_reached(resident, notice):
        raise NotFound("找不到该公告", code="notice_not_found")
