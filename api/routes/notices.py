"""Notices, their read receipts, and residents' subscription consents."""

from api import auth
from api.core import InvalidInput, commit, get_or_404, utcnow
from api.http import Blueprint, PageArgs, page_schema
from notices import jobs, policy, queries
from notices.models import Notice
from notices.schemas import (
    BuildingSharesSchema,
    DeliveryReportSchema,
    NoticeArgs,
    NoticeFilter,
    NoticePatchArgs,
    NoticeSchema,
    NoticeSummarySchema,
    PublishArgs,
    ReadSchema,
    ReceiptsArgs,
    ReceiptsSchema,
    SubscriptionArgs,
    SubscriptionsSchema,
    UnreachedFilter,
    UnreachedSchema,
    WithdrawArgs,
)
from notices.service import publishing, subscriptions
from participation.models import Resident
from voting import jobs as voting_jobs

blp = Blueprint("notices", __name__, url_prefix="/api/v1", description="Notices and subscriptions")


class NoticeQuery(PageArgs, NoticeFilter):
    pass


# Built once: given a schema class, webargs would build an instance on every request.
_NOTICE_QUERY = NoticeQuery()


def _notice(notice_id: int) -> Notice:
    return get_or_404(Notice, notice_id, "notice_not_found", "找不到该公告")


def managed_notice(notice_id: int) -> Notice:
    notice = _notice(notice_id)
    policy.require_manages(auth.current_staff(), notice)
    return notice


@blp.post("/notices")
@auth.staff_required
@blp.arguments(NoticeArgs)
@blp.response(201, NoticeSchema)
@blp.errors(401, 403, 404, 409, 422)
def create_notice(args):
    """Write a notice for a community, an estate (or some of its buildings) or a project:
    published now and pushed to residents' WeChat, scheduled (`publish_at`), or a draft."""
    staff = auth.current_staff()
    target = queries.resolve_target(args)
    policy.require_may_publish(staff, target)
    notice = publishing.create_notice(staff, target, args)
    if notice.status == "scheduled":
        jobs.schedule_publish(notice)
    commit()
    return notice


def _catch_up() -> None:
    """Without a scheduler (the embedded default), what is due is done when someone looks: the
    notices sweep, and the closing reminders, which voting announces."""
    jobs.catch_up()
    voting_jobs.catch_up_reminders()


@blp.get("/notices")
@auth.login_required
@blp.arguments(_NOTICE_QUERY, location="query")
@blp.response(200, page_schema(NoticeSummarySchema, "NoticePage"))
@blp.errors(401, 422)
def list_notices(args):
    """A resident's notices (published, unexpired, to one of their verified households),
    pinned first then newest, each with `read`; for staff, every notice in their scope (filters:
    status, category, community_id, estate_id, project_id, personal; residents: category, and
    `unread`, which staff may not give: 422 `unread_residents_only`)."""
    caller = auth.current_caller()
    if args.get("unread") is not None and not isinstance(caller, Resident):
        raise InvalidInput(
            "只有居民可以按已读、未读筛选公告",
            code="unread_residents_only",
            details={"fields": {"unread": ["仅限居民使用"]}},
        )
    # What the list needs of the caller, read before the catch-up: its commits expire the
    # caller's row, which would then be loaded again.
    visible = None if isinstance(caller, Resident) else policy.visible_notices(caller)
    caller_id = caller.id
    _catch_up()
    if visible is not None:
        return queries.staff_page(visible, args)
    return queries.resident_page(caller_id, utcnow(), args)


@blp.get("/notices/<int:notice_id>")
@auth.login_required
@blp.response(200, NoticeSchema)
@blp.errors(401, 403, 404)
def get_notice(notice_id):
    """One notice. Residents see those published to them (a withdrawn one with its reason);
    staff those in their scope, drafts included, with `may_manage`: whether they may edit,
    publish and withdraw it."""
    notice = _notice(notice_id)
    caller = auth.current_caller()
    if isinstance(caller, Resident):
        policy.require_resident_reached(caller, notice)
        return queries.as_resident_sees_it(notice, caller)
    policy.require_sees(caller, notice)
    notice.may_manage = policy.manages_notice(caller, notice)
    return notice


@blp.patch("/notices/<int:notice_id>")
@auth.staff_required
@blp.arguments(NoticePatchArgs)
@blp.response(200, NoticeSchema)
@blp.errors(401, 403, 404, 409, 422)
def patch_notice(args, notice_id):
    """Change a draft's or scheduled notice's content; pin, unpin or set the expiry of any
    notice not withdrawn (a published text never changes: withdraw it and write anew)."""
    notice = publishing.update_notice(managed_notice(notice_id), args)
    commit()
    return notice


@blp.post("/notices/<int:notice_id>/publish")
@auth.staff_required
@blp.arguments(PublishArgs)
@blp.response(200, NoticeSchema)
@blp.errors(401, 403, 404, 409, 422)
def publish_notice(args, notice_id):
    """Publish a draft or scheduled notice now, or at `publish_at`."""
    notice = managed_notice(notice_id)
    if args.get("publish_at") is not None:
        publishing.schedule(notice, args["publish_at"])
        jobs.schedule_publish(notice)
    else:
        publishing.publish(notice)
    commit()
    return notice


@blp.post("/notices/<int:notice_id>/withdraw")
@auth.staff_required
@blp.arguments(WithdrawArgs)
@blp.response(200, NoticeSchema)
@blp.errors(401, 403, 404, 409, 422)
def withdraw_notice(args, notice_id):
    """Withdraw with a reason: residents stop listing it and unsent messages are cancelled; it
    stays in the record."""
    notice = publishing.withdraw(managed_notice(notice_id), auth.current_staff(), args["reason"])
    commit()
    return notice


@blp.post("/notices/<int:notice_id>/read")
@auth.resident_required
@blp.response(200, ReadSchema)
@blp.errors(401, 403, 404, 409)
def read_notice(notice_id):
    """Mark the notice read (the first time counts; again changes nothing)."""
    notice = _notice(notice_id)
    resident = auth.current_resident()
    policy.require_resident_reached(resident, notice)
    read = publishing.mark_read(notice, resident)
    commit()
    return read


@blp.get("/notices/<int:notice_id>/receipts")
@auth.staff_required
@blp.arguments(ReceiptsArgs, location="query")
@blp.response(200, ReceiptsSchema)
@blp.errors(401, 403, 404, 422)
def notice_receipts(args, notice_id):
    """Who has read it: the share of targeted households with a member who read it, the
    buildings with the lowest shares (whom to visit), and how the WeChat messages fared."""
    notice = _notice(notice_id)
    policy.require_sees(auth.current_staff(), notice)
    _catch_up()
    return queries.receipts(notice, args["lowest"])


class UnreachedQuery(PageArgs, UnreachedFilter):
    pass


_PAGE_QUERY = PageArgs()
_UNREACHED_QUERY = UnreachedQuery()


def _seen_notice(notice_id: int) -> Notice:
    notice = _notice(notice_id)
    policy.require_sees(auth.current_staff(), notice)
    return notice


@blp.get("/notices/<int:notice_id>/delivery-report")
@auth.staff_required
@blp.response(200, DeliveryReportSchema)
@blp.errors(401, 403, 404)
def notice_delivery_report(notice_id):
    """How the notice's WeChat messages fared: counts by status (sent, no consent, failed,
    waiting, cancelled), the messages not sent by reason (no consent, refused 43101, WeChat
    silent or another errcode, interrupted, withdrawn), and the targeted households with no
    verified member, whom no message reaches. For the staff who see the notice."""
    notice = _seen_notice(notice_id)
    _catch_up()
    return queries.delivery_report(notice)


@blp.get("/notices/<int:notice_id>/buildings")
@auth.staff_required
@blp.arguments(_PAGE_QUERY, location="query")
@blp.response(200, BuildingSharesSchema)
@blp.errors(401, 403, 404, 422)
def notice_buildings(args, notice_id):
    """The read share per building: one page of the buildings the notice reached, in their
    natural order (2栋 before 10栋), each with the households targeted and those with a member
    who read it; the notice's totals beside the page. For the staff who see the notice."""
    return queries.building_shares_page(_seen_notice(notice_id), args)


@blp.get("/notices/<int:notice_id>/unreached")
@auth.staff_required
@blp.arguments(_UNREACHED_QUERY, location="query")
@blp.response(200, UnreachedSchema)
@blp.errors(401, 403, 404, 422)
def notice_unreached(args, notice_id):
    """Whom to visit: the targeted households where no verified member has read the notice,
    by building, unit and room, the owner's name masked, with their verified members (0: no
    WeChat message reaches them); one building with `building_id` (422
    `building_not_in_notice`). For the staff who see the notice."""
    return queries.unreached_page(_seen_notice(notice_id), args)


@blp.post("/me/subscriptions")
@auth.resident_required
@blp.arguments(SubscriptionArgs)
@blp.response(200, SubscriptionsSchema)
@blp.errors(401, 403, 422)
def record_subscriptions(args):
    """Record what wx.requestSubscribeMessage answered: each `accept` lets the service send the
    resident one message of that template."""
    resident = auth.current_resident()
    done = subscriptions.record_subscriptions(resident, args["results"])
    commit()
    return queries.subscriptions(resident, done["recorded"])


@blp.get("/me/subscriptions")
@auth.resident_required
@blp.response(200, SubscriptionsSchema)
@blp.errors(401, 403)
def my_subscriptions():
    """The templates to ask for in the mini-program, with the caller's unspent acceptances."""
    return queries.subscriptions(auth.current_resident())
