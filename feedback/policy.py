"""Who may do what on the building site and after it, and the rule before `accepted`.

Scopes come from participation's predicates: a *clerk* of a project is the committee of a
community it covers, that community's county, or the prefecture (sign-ups, moderation); the
project's *managers* (owner, county, prefecture) answer tickets and record the acceptance.
A resident acts for a verified household of a covered estate.

`require_acceptance` guards the step to `accepted`; `api.app.wire_domains` registers it, so
every caller of the lifecycle runs it.
"""

from __future__ import annotations

from datetime import datetime

from api.core import Conflict, Forbidden, InvalidInput, NotFound, db
from feedback.models import SupervisorSignup, Ticket, Upload
from feedback.models.ratings import RATED_STATUSES
from feedback.queries import acceptance_of, answers_reporter, published
from participation.models import Project, Resident, Staff
from participation.policy import (
    covers_community,
    manages_project,
    require_sees_project,
    resident_sees_project,
    sees_project,
)
from participation.queries import project_household_ids


class CommentNotFound(NotFound):
    """A comment that does not exist, or that the caller may not know of: the same answer."""

    code = "comment_not_found"
    message = "找不到该评论"


# --- staff ------------------------------------------------------------------------------------


def clerks_project(staff: Staff, project: Project) -> bool:
    """The committee of a community the project covers, that community's county, or the
    prefecture: supervisor sign-ups and comment moderation (not the project owner)."""
    return any(covers_community(staff, estate.community) for estate in project.estates)


def require_clerks_project(staff: Staff, project: Project) -> None:
    require_sees_project(staff, project)
    if not clerks_project(staff, project):
        raise Forbidden("仅项目所在社区的居委会或主管部门可进行此操作", code="out_of_scope")


def require_reviews_signups(staff: Staff, project: Project) -> None:
    """A clerk of the project reviews its sign-ups; to staff who do not see the project the
    sign-up does not exist (404), to others in sight it is forbidden (403)."""
    if not sees_project(staff, project):
        raise NotFound("找不到该报名", code="signup_not_found")
    require_clerks_project(staff, project)


def require_moderates_comments(staff: Staff, project: Project) -> None:
    """A clerk of the project moderates its comments (404 out of sight, 403 in sight)."""
    if not sees_project(staff, project):
        raise CommentNotFound()
    require_clerks_project(staff, project)


def require_answers_ticket(staff: Staff, project: Project) -> None:
    """The project's owner (or county, prefecture) answers its tickets, not a committee."""
    if not manages_project(staff, project):
        raise Forbidden("工单由项目建设单位答复", code="out_of_scope")


# --- residents and staff ----------------------------------------------------------------------


def require_own_signup(signup: SupervisorSignup, resident: Resident) -> None:
    """Another resident's sign-up does not exist for the caller (404)."""
    if signup.resident_id != resident.id:
        raise NotFound("找不到该报名", code="signup_not_found")


def sees_upload(caller: Resident | Staff, upload: Upload) -> bool:
    """A resident's image: that resident, and staff who see its project. A staff member's
    file: staff who see its project; residents of the project's estates too once it is
    published (a plan's attachment, a progress update's photo), never before (a paper ballot's
    form may show a household's choice, and is never published: `uploads.publishable`); and
    the reporter of a ticket it answers (an answer's photo)."""
    if isinstance(caller, Resident):
        if upload.uploader_id is not None:
            return upload.uploader_id == caller.id
        if answers_reporter(upload.id, caller.id):
            return True
        return published(upload.id) and resident_sees_project(
            caller, db.session.get(Project, upload.project_id)
        )
    return sees_project(caller, db.session.get(Project, upload.project_id))


def may_upload_documents(caller: Resident | Staff, project: Project) -> bool:
    """Who may upload a PDF (a plan document) to the project: those who make its plans (its
    owner, its county, the prefecture). Residents and committees upload images only."""
    return isinstance(caller, Staff) and manages_project(caller, project)


def sees_ticket(caller: Resident | Staff, ticket: Ticket) -> bool:
    """The ticket's reporter, and staff who see its project."""
    if isinstance(caller, Resident):
        return ticket.reporter_id == caller.id
    return sees_project(caller, db.session.get(Project, ticket.project_id))


def require_reporter(ticket: Ticket, resident: Resident) -> None:
    """Only the reporter confirms or reopens a ticket; to anyone else it does not exist."""
    if ticket.reporter_id != resident.id:
        raise NotFound("找不到该工单", code="ticket_not_found")


def acting_household(
    project: Project, resident: Resident, household_id: int | None, *, ambiguous: str
) -> int:
    """The covered household the resident acts for: the one named, or their only one.

    403 `not_resident_of_estate` for none, 422 `household_required` (with `ambiguous` as the
    message) when they have several and named none, 422 `not_household_member` when the one
    named is not theirs.
    """
    households = project_household_ids(resident, project)
    if not households:
        raise Forbidden("您不是本项目所涉小区的已认证住户", code="not_resident_of_estate")
    if household_id is None:
        if len(households) > 1:
            raise InvalidInput(
                ambiguous, code="household_required", details={"households": households}
            )
        return households[0]
    if household_id not in households:
        raise InvalidInput("您不是该户的已认证住户", code="not_household_member")
    return household_id


def rating_household(project: Project, resident: Resident, household_id: int | None) -> int:
    """The covered household the resident rates for (403 none, 422 ambiguous or not theirs)."""
    return acting_household(
        project, resident, household_id, ambiguous="您属于多个住户，请指定为哪一户评价"
    )


def window_open(project: Project, now: datetime) -> bool:
    """Households may rate the project now: it is completed (or accepted) and its rating
    window has not closed."""
    return (
        project.status in RATED_STATUSES
        and project.rating_closes_at is not None
        and now < project.rating_closes_at
    )


# --- the step to `accepted` -------------------------------------------------------------------


class AcceptanceMissing(Conflict):
    code = "acceptance_missing"
    message = "尚未登记竣工联合验收记录，项目不能转为已验收"


class AcceptanceFailed(Conflict):
    code = "acceptance_failed"
    message = "竣工联合验收有不通过的意见，项目不能转为已验收"


def require_acceptance(project: Project) -> None:
    """The check before `accepted`: a recorded acceptance without any `fail` verdict (409)."""
    acceptance = acceptance_of(project)
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
