"""An estate's management rules (小区管理办法): drafts, publication for comment, the owners'
decision that adopts or rejects a version, and residents' comments on it.

The committee of the estate's community, its county and the prefecture write and publish
versions, link the decision, record its result and answer comments; the estate's verified
residents comment while comments are open (who may: `feedback.estate_rules_queries`).

What an owners' decision decided comes from voting as `decision_outcome`
(`api.core.provided`): a version is adopted only by a final owners' decision on 管理规约
(`management_statute`) of a project covering the estate, in which this estate passed.

Functions flush, never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from api.core import Conflict, InvalidInput, db, provided, utcnow
from api.wechat import WeChatUnavailable
from feedback.estate_rules_queries import comments_open
from feedback.models.estate_rules import EstateRules, RulesComment
from feedback.service.comments import STATUS_FOR_VERDICT, ContentRisky, check_text
from participation.models import Estate, Household, HouseholdClaim, Project, Resident, Staff

MATTER = "management_statute"
# A comment a clerk may hide, or show again (as project comments: a comment WeChat has not
# checked, or judged risky, is never shown by hand).
HIDEABLE = ("visible", "pending_review", "reported")
RESTORABLE = ("hidden", "pending_review", "reported")


# --- the versions ----------------------------------------------------------------------------


def _require_draft(rules: EstateRules) -> None:
    if rules.status != "draft":
        raise Conflict(
            "管理办法已公示，内容不能再修改；如需修改请新建版本",
            code="rules_not_draft",
            details={"status": rules.status},
        )


def _require_published(rules: EstateRules) -> None:
    if rules.status != "published":
        raise Conflict(
            "仅公示中的管理办法可进行此操作",
            code="rules_not_published",
            details={"status": rules.status},
        )


def _lock_estate(estate_id: int) -> None:
    """The estate's row locked: its versions are numbered, and its adopted version replaced,
    one writer at a time."""
    db.session.execute(select(Estate.id).where(Estate.id == estate_id).with_for_update()).one()


def lock(rules: EstateRules) -> EstateRules:
    """The version read again and locked for a change of status (two clerks cannot publish,
    withdraw or decide it at once)."""
    return db.session.scalars(
        select(EstateRules)
        .where(EstateRules.id == rules.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def create(estate: Estate, staff: Staff, args: dict) -> EstateRules:
    """A draft with the estate's next version number (the estate is locked, so two drafts
    written at once cannot take the same number; the UNIQUE constraint holds it anyway)."""
    _lock_estate(estate.id)
    latest = db.session.scalar(
        select(func.max(EstateRules.version)).where(EstateRules.estate_id == estate.id)
    )
    now = utcnow()
    rules = EstateRules(
        estate_id=estate.id,
        version=(latest or 0) + 1,
        title=args["title"],
        body=args["body"],
        status="draft",
        created_by_id=staff.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(rules)
    db.session.flush()
    return rules


def update_draft(rules: EstateRules, args: dict) -> EstateRules:
    """Change a draft's title or text (409 `rules_not_draft` once published)."""
    rules = lock(rules)
    _require_draft(rules)
    for name in ("title", "body"):
        if name in args:
            setattr(rules, name, args[name])
    rules.updated_at = utcnow()
    db.session.flush()
    return rules


def publish(rules: EstateRules, comments_close_at: datetime | None) -> EstateRules:
    """Publish a draft for the residents to read and comment on, until `comments_close_at`
    (422 `comments_close_past` when not in the future; none: until the owners decide). The
    version never changes after."""
    rules = lock(rules)
    _require_draft(rules)
    now = utcnow()
    if comments_close_at is not None and comments_close_at <= now:
        raise InvalidInput("征求意见截止时间须晚于当前时间", code="comments_close_past")
    rules.status, rules.published_at = "published", now
    rules.comments_close_at = comments_close_at
    rules.updated_at = now
    db.session.flush()
    return rules


def withdraw(rules: EstateRules) -> EstateRules:
    """Withdraw a published version the owners have not decided on (409 otherwise)."""
    rules = lock(rules)
    _require_published(rules)
    now = utcnow()
    rules.status, rules.withdrawn_at, rules.updated_at = "withdrawn", now, now
    db.session.flush()
    return rules


def _outcome(consultation_id: int):
    return provided("decision_outcome")(consultation_id)


def _decision_invalid(message: str, code: str, consultation_id: int) -> InvalidInput:
    return InvalidInput(message, code=code, details={"consultation_id": consultation_id})


def _require_unused(rules: EstateRules, consultation_id: int) -> None:
    """A decision decides one version of an estate (409 `decision_already_used`)."""
    used = db.session.scalar(
        select(EstateRules.version).where(
            EstateRules.estate_id == rules.estate_id,
            EstateRules.decision_id == consultation_id,
            EstateRules.id != rules.id,
            EstateRules.status.in_(("adopted", "rejected")),
        )
    )
    if used is not None:
        raise Conflict(
            "该业主共同决定已用于本小区的其他版本",
            code="decision_already_used",
            details={"version": used},
        )


def link_decision(rules: EstateRules, consultation_id: int) -> EstateRules:
    """Name the owners' decision that is to adopt this published version: an owners' decision
    on 管理规约 of a project covering the estate (422 `decision_not_for_estate` for a missing
    one or one of another project, `not_owners_decision`, `decision_wrong_matter`), drawn up
    after this version was published (409 `decision_before_publication`), not one that already
    decided another version of the estate (409 `decision_already_used`). It may be changed
    until the result is recorded."""
    rules = lock(rules)
    _require_published(rules)
    outcome = _outcome(consultation_id)
    # A decision of a project not covering the estate answers as a missing one: its id says
    # nothing to a clerk who may not know of that project.
    project = db.session.get(Project, outcome.project_id) if outcome else None
    if project is None or rules.estate_id not in {estate.id for estate in project.estates}:
        raise _decision_invalid(
            "找不到涉及本小区的该业主共同决定", "decision_not_for_estate", consultation_id
        )
    if outcome.matter is None:
        raise _decision_invalid("所选征询不是业主共同决定", "not_owners_decision", consultation_id)
    if outcome.matter != MATTER:
        raise _decision_invalid(
            "所选业主共同决定的事项不是“制定和修改管理规约”",
            "decision_wrong_matter",
            consultation_id,
        )
    _require_unused(rules, consultation_id)
    _require_drawn_up_after_publication(rules, outcome)
    rules.decision_id = consultation_id
    rules.updated_at = utcnow()
    db.session.flush()
    return rules


def _require_drawn_up_after_publication(rules: EstateRules, outcome) -> None:
    """The owners decide on the text residents read: a decision drawn up before this version
    was published was about another text (409 `decision_before_publication`)."""
    if outcome.created_at is None or outcome.created_at < rules.published_at:
        raise Conflict(
            "该业主共同决定在本版本公示之前拟定，不能用于表决本版本",
            code="decision_before_publication",
            details={"consultation_id": outcome.consultation_id},
        )


def record_result(rules: EstateRules) -> EstateRules:
    """Record what the linked decision decided, once it is final: adopted when this estate
    passed (the estate's earlier adopted version is superseded), rejected when it did not.
    The estate's figures of the final count are copied onto the version.

    409 `decision_missing` without a linked decision, `decision_not_final` before its final
    count, `rules_not_published` once recorded (or withdrawn), `decision_already_used` when
    the decision has decided another version of the estate since it was linked.
    """
    _lock_estate(rules.estate_id)
    rules = lock(rules)
    _require_published(rules)
    if rules.decision_id is None:
        raise Conflict("尚未关联业主共同决定", code="decision_missing")
    # Linked to two versions, a decision decides the first recorded (the estate is locked).
    _require_unused(rules, rules.decision_id)
    outcome = _outcome(rules.decision_id)
    _require_drawn_up_after_publication(rules, outcome)
    if not outcome.final:
        raise Conflict(
            "业主共同决定尚未结束或尚未最终计票",
            code="decision_not_final",
            details={"consultation_id": outcome.consultation_id, "status": outcome.status},
        )
    figures = next((e for e in outcome.estates if e.get("estate_id") == rules.estate_id), None)
    passed = rules.estate_id in outcome.passed_estate_ids
    now = utcnow()
    rules.result = {
        "consultation_id": outcome.consultation_id,
        "title": outcome.title,
        "matter": outcome.matter,
        "rule": outcome.rule,
        "closed_at": outcome.closed_at.isoformat() if outcome.closed_at else None,
        "passed": passed,
        "estate": figures,
    }
    rules.decided_at = outcome.closed_at or now
    rules.status = "adopted" if passed else "rejected"
    rules.updated_at = now
    if passed:
        db.session.execute(
            update(EstateRules)
            .where(
                EstateRules.estate_id == rules.estate_id,
                EstateRules.status == "adopted",
                EstateRules.superseded_at.is_(None),
                EstateRules.id != rules.id,
            )
            .values(superseded_at=now, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
    db.session.flush()
    return rules


# --- comments --------------------------------------------------------------------------------


def _household_in(resident: Resident, estate_id: int) -> int | None:
    return db.session.scalar(
        select(Household.id)
        .join(HouseholdClaim, HouseholdClaim.household_id == Household.id)
        .where(
            HouseholdClaim.resident_id == resident.id,
            HouseholdClaim.status == "verified",
            Household.estate_id == estate_id,
        )
        .order_by(Household.id)
    )


def post_comment(rules: EstateRules, resident: Resident, body: str) -> RulesComment:
    """A resident's comment on a published version while comments are open (409
    `comments_closed` otherwise), through WeChat's content check as project comments go:
    risky text is refused (422 `content_risky`, nothing stored), text held for review is kept
    unseen by others, and text WeChat could not check is kept as `pending_check`."""
    if not comments_open(rules):
        raise Conflict("该版本已停止征求意见", code="comments_closed")
    now = utcnow()
    try:
        verdict = check_text(resident.openid, body)
    except WeChatUnavailable:
        verdict = None
    if verdict == "risky":
        raise ContentRisky()
    comment = RulesComment(
        rules_id=rules.id,
        author_id=resident.id,
        household_id=_household_in(resident, rules.estate_id),
        body=body,
        status="pending_check" if verdict is None else STATUS_FOR_VERDICT[verdict],
        check_attempts=1,
        checked_at=now,
        created_at=now,
    )
    db.session.add(comment)
    db.session.flush()
    return comment


def reply(comment: RulesComment, staff: Staff, body: str) -> RulesComment:
    """The committee's answer to a visible comment, shown under it (a new answer replaces
    the previous one); 409 `comment_not_visible` for any other."""
    if comment.status != "visible":
        raise Conflict(
            "只能答复已公开的意见", code="comment_not_visible", details={"status": comment.status}
        )
    comment.reply, comment.replied_by_id, comment.replied_at = body, staff.id, utcnow()
    db.session.flush()
    return comment


def hide(comment: RulesComment, reason: str) -> RulesComment:
    """A clerk hides a comment with a reason (409 `comment_not_hideable` from its status)."""
    if comment.status not in HIDEABLE:
        raise Conflict(
            "该意见当前不能隐藏", code="comment_not_hideable", details={"status": comment.status}
        )
    comment.status, comment.status_reason = "hidden", reason
    db.session.flush()
    return comment


def restore(comment: RulesComment, reason: str) -> RulesComment:
    """A clerk shows a hidden or held comment again (409 `comment_not_restorable`)."""
    if comment.status not in RESTORABLE:
        raise Conflict(
            "该意见当前不能恢复显示",
            code="comment_not_restorable",
            details={"status": comment.status},
        )
    comment.status, comment.status_reason = "visible", reason
    db.session.flush()
    return comment


def recheck(comment_id: int) -> str | None:
    """Ask WeChat again about a comment waiting for its check (as project comments are
    re-checked, by the feedback reconciler); its new status. Raises `WeChatUnavailable` while
    WeChat cannot answer, after counting the attempt. A comment no longer waiting is left."""
    comment = db.session.scalars(
        select(RulesComment)
        .where(RulesComment.id == comment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if comment is None or comment.status != "pending_check" or comment.author_id is None:
        return comment.status if comment else None
    comment.check_attempts += 1
    comment.checked_at = utcnow()
    author = db.session.get(Resident, comment.author_id)
    try:
        verdict = check_text(author.openid, comment.body)
    except WeChatUnavailable:
        db.session.flush()
        raise
    comment.status = STATUS_FOR_VERDICT[verdict]
    if verdict == "risky":
        comment.status_reason = "微信内容安全检测未通过"
    db.session.flush()
    return comment.status
