"""An estate's management rules (小区管理办法): versions from draft to adoption by an owners'
decision on 管理规约, residents' comments on a published version, the rules in force."""

from sqlalchemy import func, select

from api import auth
from api.core import commit, db, local_text
from api.http import Blueprint, PageArgs, page_schema, paginate
from feedback import estate_rules_queries as rules_queries
from feedback.estate_rules_queries import (
    EstateNotFound,
    RulesCommentNotFound,
    RulesNotFound,
)
from feedback.models.estate_rules import EstateRules, RulesComment
from feedback.schemas.estate_rules import (
    RulesArgs,
    RulesCommentArgs,
    RulesCommentSchema,
    RulesDecisionArgs,
    RulesInForceSchema,
    RulesModerationArgs,
    RulesPatchArgs,
    RulesPublishArgs,
    RulesReplyArgs,
    RulesSchema,
    shown,
)
from feedback.service import estate_rules as rules_service
from notices.service import publishing
from participation.models import Estate, Household, Resident

blp = Blueprint(
    "estate_rules",
    __name__,
    url_prefix="/api/v1",
    description="Estate management rules (小区管理办法)",
)


def _estate(estate_id: int) -> Estate:
    estate = db.session.get(Estate, estate_id)
    if estate is None:
        raise EstateNotFound()
    return estate


def _rules(rules_id: int) -> EstateRules:
    rules = db.session.get(EstateRules, rules_id)
    if rules is None:
        raise RulesNotFound()
    return rules


def _managed(rules_id: int):
    """The version and the staff member, who covers its estate (404 to other staff)."""
    rules = _rules(rules_id)
    staff = auth.current_staff()
    rules_queries.require_manages_rules(staff, rules)
    return rules, staff


def _dump_comments(shown: list[RulesComment]) -> list[RulesComment]:
    caller = auth.current_caller()
    resident_id = caller.id if isinstance(caller, Resident) else None
    author_ids = {c.author_id for c in shown if c.author_id is not None}
    nicknames = (
        dict(
            db.session.execute(
                select(Resident.id, Resident.nickname).where(Resident.id.in_(author_ids))
            ).all()
        )
        if author_ids
        else {}
    )
    for comment in shown:
        comment.author_nickname = nicknames.get(comment.author_id)
        comment.mine = resident_id is not None and comment.author_id == resident_id
        comment.for_staff = resident_id is None
    return shown


def _managed_comment(comment_id: int):
    comment = db.session.get(RulesComment, comment_id)
    if comment is None:
        raise RulesCommentNotFound()
    staff = auth.current_staff()
    rules = db.session.get(EstateRules, comment.rules_id)
    if not rules_queries.covers_estate(staff, db.session.get(Estate, rules.estate_id)):
        raise RulesCommentNotFound()
    return comment, staff


def _announce(rules: EstateRules, estate: Estate, staff) -> None:
    """A notice to the estate's households that a version is published for comment (none
    when the estate has no roster yet: the publication does not depend on it)."""
    households = db.session.scalar(
        select(func.count()).select_from(Household).where(Household.estate_id == estate.id)
    )
    if not households:
        return
    closes = (
        f"意见征集截止至{local_text(rules.comments_close_at)}。" if rules.comments_close_at else ""
    )
    publishing.create_notice(
        staff,
        {
            "target_kind": "estate",
            "county_id": estate.community.county_id,
            "community_id": estate.community_id,
            "estate": estate,
        },
        {
            "category": "general",
            "title": f"{estate.name}管理办法（第{rules.version}版）征求意见"[:100],
            "body": f"社区居委会公示了《{rules.title}》（第{rules.version}版），请打开小程序阅读"
            f"并提出意见。{closes}该办法经业主共同决定（制定和修改管理规约）通过后施行。",
            "event_key": f"estate-rules-published:{rules.id}",
        },
    )


# --- versions --------------------------------------------------------------------------------


@blp.get("/estates/<int:estate_id>/rules")
@auth.login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(RulesSchema, "EstateRulesPage"))
@blp.errors(401, 403, 404, 422)
def list_rules(args, estate_id):
    """The estate's versions of its management rules, the newest first: every version for
    the committee of its community, its county and the prefecture; published, adopted and
    rejected ones for its verified residents. To anyone else the estate does not exist (404)."""
    estate = _estate(estate_id)
    caller = auth.current_caller()
    rules_queries.require_sees_estate(caller, estate)
    page = paginate(rules_queries.versions(estate, staff=not isinstance(caller, Resident)), args)
    page["items"] = [shown(r) for r in page["items"]]
    return page


@blp.post("/estates/<int:estate_id>/rules")
@auth.staff_required
@blp.arguments(RulesArgs)
@blp.response(201, RulesSchema)
@blp.errors(401, 403, 404, 422)
def create_rules(args, estate_id):
    """A draft of the estate's management rules, with the next version number: the committee
    of its community, its county, the prefecture (404 to other staff)."""
    estate = _estate(estate_id)
    staff = auth.current_staff()
    rules_queries.require_covers_estate(staff, estate)
    rules = rules_service.create(estate, staff, args)
    commit()
    return shown(rules)


@blp.get("/estates/<int:estate_id>/rules/current")
@auth.login_required
@blp.response(200, RulesInForceSchema)
@blp.errors(401, 403, 404)
def rules_in_force(estate_id):
    """The adopted rules in force, with the date the owners decided and the decision's result
    for this estate (shares agreeing and disagreeing by area and by owners, the rule, the
    decision's title); 404 `no_rules_in_force` when none was adopted. For the estate's
    verified residents and staff in scope."""
    estate = _estate(estate_id)
    rules_queries.require_sees_estate(auth.current_caller(), estate)
    return shown(rules_queries.in_force(estate))


@blp.get("/estate-rules/<int:rules_id>")
@auth.login_required
@blp.response(200, RulesSchema)
@blp.errors(401, 403, 404)
def get_rules(rules_id):
    """One version (a draft or a withdrawn version for staff in scope only)."""
    rules = _rules(rules_id)
    rules_queries.require_sees_rules(auth.current_caller(), rules)
    return shown(rules)


@blp.patch("/estate-rules/<int:rules_id>")
@auth.staff_required
@blp.arguments(RulesPatchArgs)
@blp.response(200, RulesSchema)
@blp.errors(401, 403, 404, 409, 422)
def patch_rules(args, rules_id):
    """Change a draft's title or text (409 `rules_not_draft` once published: a change is a new
    version)."""
    rules, _ = _managed(rules_id)
    rules_service.update_draft(rules, args)
    commit()
    return shown(rules)


@blp.post("/estate-rules/<int:rules_id>/publish")
@auth.staff_required
@blp.arguments(RulesPublishArgs)
@blp.response(200, RulesSchema)
@blp.errors(401, 403, 404, 409, 422)
def publish_rules(args, rules_id):
    """Publish a draft for the estate's residents to read and comment on (until
    `comments_close_at`, if given); it never changes after. The estate's households get a
    notice (通知公告)."""
    rules, staff = _managed(rules_id)
    rules_service.publish(rules, args.get("comments_close_at"))
    _announce(rules, db.session.get(Estate, rules.estate_id), staff)
    commit()
    return shown(rules)


@blp.post("/estate-rules/<int:rules_id>/withdraw")
@auth.staff_required
@blp.response(200, RulesSchema)
@blp.errors(401, 403, 404, 409)
def withdraw_rules(rules_id):
    """Withdraw a published version the owners have not decided on (409
    `rules_not_published` otherwise); residents no longer see it."""
    rules, _ = _managed(rules_id)
    rules_service.withdraw(rules)
    commit()
    return shown(rules)


@blp.put("/estate-rules/<int:rules_id>/decision")
@auth.staff_required
@blp.arguments(RulesDecisionArgs)
@blp.response(200, RulesSchema)
@blp.errors(401, 403, 404, 409, 422)
def link_decision(args, rules_id):
    """Name the owners' decision on 管理规约 that is to adopt this published version (409
    `rules_not_published` for a draft, or once decided; `decision_before_publication` for a
    decision drawn up before this version was published, about another text;
    `decision_already_used` for one that decided another version)."""
    rules, _ = _managed(rules_id)
    rules_service.link_decision(rules, args["consultation_id"])
    commit()
    return shown(rules)


@blp.post("/estate-rules/<int:rules_id>/result")
@auth.staff_required
@blp.response(200, RulesSchema)
@blp.errors(401, 403, 404, 409)
def record_result(rules_id):
    """Record the linked decision's result once its count is final: adopted when this estate
    passed (the estate's previously adopted version is superseded), rejected otherwise; 409
    `decision_missing`, `decision_not_final`."""
    rules, _ = _managed(rules_id)
    rules_service.record_result(rules)
    commit()
    return shown(rules)


# --- comments --------------------------------------------------------------------------------


@blp.get("/estate-rules/<int:rules_id>/comments")
@auth.login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(RulesCommentSchema, "RulesCommentPage"))
@blp.errors(401, 403, 404, 422)
def list_comments(args, rules_id):
    """Residents' comments on a version, oldest first: visible ones and the caller's own for
    residents; every one, with its status, for staff in scope."""
    rules = _rules(rules_id)
    caller = auth.current_caller()
    rules_queries.require_sees_rules(caller, rules)
    page = paginate(rules_queries.comments_of(rules, caller), args)
    _dump_comments(page["items"])
    return page


@blp.post("/estate-rules/<int:rules_id>/comments")
@auth.resident_required
@blp.arguments(RulesCommentArgs)
@blp.response(201, RulesCommentSchema)
@blp.errors(401, 403, 404, 409, 422)
def post_comment(args, rules_id):
    """A verified resident of the estate comments on a published version while comments are
    open (409 `comments_closed`). WeChat checks the text first, as for project comments: risky
    text is refused (422 `content_risky`); text held for review, or not checked because WeChat
    is unreachable, is kept and shown to others only once it passes."""
    rules = _rules(rules_id)
    resident = auth.current_resident()
    rules_queries.require_sees_rules(resident, rules)
    comment = rules_service.post_comment(rules, resident, args["body"])
    commit()
    return _dump_comments([comment])[0]


@blp.post("/estate-rules/comments/<int:comment_id>/reply")
@auth.staff_required
@blp.arguments(RulesReplyArgs)
@blp.response(200, RulesCommentSchema)
@blp.errors(401, 403, 404, 409, 422)
def reply_to_comment(args, comment_id):
    """The committee's answer (or its county's, the prefecture's) to a visible comment, shown
    under it to residents; 409 `comment_not_visible` for any other."""
    comment, staff = _managed_comment(comment_id)
    rules_service.reply(comment, staff, args["body"])
    commit()
    return _dump_comments([comment])[0]


@blp.post("/estate-rules/comments/<int:comment_id>/hide")
@auth.staff_required
@blp.arguments(RulesModerationArgs)
@blp.response(200, RulesCommentSchema)
@blp.errors(401, 403, 404, 409, 422)
def hide_comment(args, comment_id):
    """A clerk hides a comment, with a reason (409 `comment_not_hideable`)."""
    comment, _ = _managed_comment(comment_id)
    rules_service.hide(comment, args["reason"])
    commit()
    return _dump_comments([comment])[0]


@blp.post("/estate-rules/comments/<int:comment_id>/restore")
@auth.staff_required
@blp.arguments(RulesModerationArgs)
@blp.response(200, RulesCommentSchema)
@blp.errors(401, 403, 404, 409, 422)
def restore_comment(args, comment_id):
    """A clerk shows a hidden or held comment again, with a reason (409
    `comment_not_restorable`: never one WeChat has not checked or judged risky)."""
    comment, _ = _managed_comment(comment_id)
    rules_service.restore(comment, args["reason"])
    commit()
    return _dump_comments([comment])[0]
