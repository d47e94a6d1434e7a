"""Official replies (官方回复) to residents' comments on their ballots.

The committee of the project's communities and the project's owner answer what residents said
about the plan; the reply shows under the comment, marked official, with the replier's role,
never the staff member's name. Who may reply is decided here (`replier_role`), from the grants
`participation.policy` reads; the route checks it before anything is written.
"""

from __future__ import annotations

from api.core import Forbidden, db
from participation.models import Project, Staff
from participation.policy import project_community_ids, scope_ids
from voting.models import Consultation, OpinionReply
from voting.queries.opinions import ResidentComment


def replier_role(staff: Staff, project: Project) -> str | None:
    """`committee` for a committee of one of the project's communities, `owner` for the
    project's owner, else None (the county and the prefecture read, they do not answer here)."""
    if project_community_ids(project) & scope_ids(staff, "committee"):
        return "committee"
    if project.id in scope_ids(staff, "owner"):
        return "owner"
    return None


def require_replier(staff: Staff, project: Project) -> str:
    """The role the staff member replies in, or 403 `out_of_scope`."""
    role = replier_role(staff, project)
    if role is None:
        raise Forbidden("只有社区居委会和项目建设单位可以回复居民意见", code="out_of_scope")
    return role


def reply(
    consultation: Consultation, comment: ResidentComment, staff: Staff, role: str, body: str
) -> OpinionReply:
    """Store the reply with a copy of the comment it answers (a household may change its
    ballot while the vote is open). Flushes."""
    row = OpinionReply(
        consultation_id=consultation.id,
        ballot_id=comment.ballot_id,
        plan_item_id=comment.plan_item_id,
        comment_text=comment.body,
        body=body,
        staff_id=staff.id,
        role=role,
    )
    db.session.add(row)
    db.session.flush()
    return row
