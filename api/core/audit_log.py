"""Reading the audit trail (操作日志, `api.core.audit`): the Chinese label of each staff write
and of each kind of object, the search within a scope, and the trail as an Excel workbook.

`ACTIONS` is the one table of what a staff write is called, keyed by the view's endpoint (the
entry's `action`). tests/shell/test_audit_log.py fails on a staff write operation of the
OpenAPI document that has no label here, so a new endpoint cannot be added without one.

The kernel knows no domain: who may read which entries is the caller's `Scope`, which the
route builds from the staff member's grants (`participation.policy`).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import or_, select

from api.core.audit import AuditEntry
from api.core.clock import LOCAL
from api.core.sheets import add_sheet, workbook_bytes

# endpoint → what the staff member did
ACTIONS: dict[str, str] = {
    # places and the roster
    "places.create_county": "新增县市",
    "places.create_community": "新增社区",
    "places.create_estate": "新增小区",
    "places.edit_household": "修改住户信息",
    "places.import_households": "导入住户名册",
    # claims and staff accounts
    "registry.approve_claim": "通过住户认证",
    "registry.reject_claim": "驳回住户认证",
    "registry.create_staff": "新建工作人员账号",
    "registry.add_grant": "授予角色",
    "registry.revoke_grant": "撤销角色",
    "registry.deactivate_staff": "停用账号",
    "registry.activate_staff": "启用账号",
    "registry.reset_staff_password": "重置密码",
    # projects
    "projects.create_project": "新建项目",
    "projects.patch_project": "修改项目",
    "projects.create_plan": "编写改造方案",
    "projects.transition": "推进项目阶段",
    "progress.post_progress": "发布进度公示",
    # consultations
    "voting.create_consultation": "创建征询",
    "voting.open_consultation": "开启征询",
    "voting.close_consultation": "结束征询",
    "voting.paper_ballot": "录入纸质选票",
    "delegations.record_delegation": "代录委托投票",
    "delegations.verify_delegation": "核实委托投票",
    "delegations.reject_delegation": "驳回委托投票",
    "delegations.revoke_delegation": "撤销委托投票",
    "opinions.reply_to_comment": "回复征询意见",
    # the building site and completion
    "supervision.accept_supervisor": "接受监督员报名",
    "supervision.decline_supervisor": "婉拒监督员报名",
    "supervision.upload_photo": "上传照片",
    "supervision.answer_ticket": "答复问题工单",
    "feedback.record_acceptance": "记录竣工验收",
    "feedback.attach_acceptance_document": "上传验收文件",
    "feedback.remove_acceptance_document": "删除验收文件",
    # comments and notices
    "comments.hide_comment": "隐藏评论",
    "comments.restore_comment": "恢复评论",
    "comments.reply_to_comment": "官方回复评论",
    "notices.create_notice": "撰写通知",
    "notices.patch_notice": "修改通知",
    "notices.publish_notice": "发布通知",
    "notices.withdraw_notice": "撤回通知",
    # estate management rules (issue 15)
    "estate_rules.create_rules": "起草小区管理办法",
    "estate_rules.patch_rules": "修改小区管理办法草稿",
    "estate_rules.publish_rules": "公示小区管理办法",
    "estate_rules.withdraw_rules": "撤回小区管理办法",
    "estate_rules.link_decision": "关联管理规约业主共同决定",
    "estate_rules.record_result": "登记小区管理办法表决结果",
    "estate_rules.reply_to_comment": "答复管理办法意见",
    "estate_rules.hide_comment": "隐藏管理办法意见",
    "estate_rules.restore_comment": "恢复管理办法意见",
    # contribution schemes (issue 15)
    "contributions.create_scheme": "拟定居民出资方案",
    "contributions.patch_scheme": "修改居民出资方案草案",
    "contributions.link_decision": "关联出资方案的业主共同决定",
    "contributions.adopt_scheme": "居民出资方案生效",
    "contributions.cancel_scheme": "取消居民出资方案",
    "contributions.put_pledge": "代为登记出资承诺",
    # contribution entries and expenses (issue 15)
    "payments.record_entry": "登记居民缴款、更正或退款",
    "payments.record_expense": "登记项目支出",
}

# The kind of object an entry is about, by its canonical name → (label, the other names an
# entry may carry for it). An entry names its object by the address's last `<name>_id`
# (`household`) or, for a row the action created, by its table (`households`).
OBJECT_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "county": ("县市", ("counties",)),
    "community": ("社区", ("communities",)),
    "estate": ("小区", ("estates",)),
    "household": ("住户", ("households",)),
    "claim": ("住户认证", ("household_claims",)),
    "staff": ("工作人员账号", ()),
    "grant": ("角色授权", ("role_grants",)),
    "project": ("项目", ("projects",)),
    "plan": ("改造方案", ("plans",)),
    "progress_update": ("进度公示", ("progress_updates",)),
    "consultation": ("征询", ("consultations",)),
    "ballot": ("选票", ("ballots",)),
    "delegation": ("委托投票", ("delegations",)),
    "signup": ("监督员报名", ("supervisor_signups",)),
    "upload": ("上传文件", ("uploads",)),
    "ticket": ("问题工单", ("tickets",)),
    "acceptance": ("竣工验收", ("acceptances",)),
    "document": ("验收文件", ("acceptance_documents",)),
    "comment": ("评论", ("comments",)),
    "reply": ("回复", ("comment_replies", "opinion_replies")),
    "notice": ("通知", ("notices",)),
    "rules": ("小区管理办法", ("estate_rules",)),
    "rules_comment": ("管理办法意见", ("rules_comments",)),
    "scheme": ("居民出资方案", ("contribution_schemes",)),
    "entry": ("缴款记录", ("contribution_entries",)),
    "expense": ("项目支出", ("project_expenses",)),
}
# What each table holds, in Chinese, for the changes a page shows. tests/shell/test_audit_log.py
# fails on a table without its label here.
TABLES: dict[str, str] = {
    "acceptance_documents": "验收文件",
    "acceptance_parties": "验收参与单位",
    "acceptance_representatives": "居民代表",
    "acceptances": "竣工验收",
    "audit_entries": "操作日志",
    "ballot_changes": "选票变更记录",
    "ballot_picks": "选票选项",
    "ballots": "选票",
    "buildings": "楼栋",
    "comment_decisions": "评论处理",
    "comment_likes": "评论点赞",
    "comment_replies": "评论回复",
    "comment_reports": "评论举报",
    "comments": "评论",
    "communities": "社区",
    "completion_tallies": "竣工满意度统计",
    "consultations": "征询",
    "contribution_dues": "居民应缴金额",
    "contribution_entries": "缴款记录",
    "contribution_pledges": "出资承诺",
    "contribution_schemes": "居民出资方案",
    "counties": "县市",
    "delegations": "委托投票",
    "deliveries": "消息推送",
    "elector_members": "表决成员名单",
    "electorate_entries": "表决住户名单",
    "estate_rules": "小区管理办法",
    "estates": "小区",
    "funding_lines": "资金来源",
    "household_claims": "住户认证",
    "households": "住户",
    "inspection_photos": "巡查照片",
    "inspections": "巡查记录",
    "milestones": "节点",
    "notice_reads": "通知阅读",
    "notice_targets": "通知对象",
    "notices": "通知",
    "opinion_replies": "意见回复",
    "plan_attachments": "方案附件",
    "plan_items": "方案事项",
    "plans": "改造方案",
    "privacy_consents": "隐私同意",
    "progress_update_photos": "进度照片",
    "progress_updates": "进度公示",
    "project_estates": "项目小区",
    "project_expenses": "项目支出",
    "project_transitions": "项目阶段变更",
    "projects": "项目",
    "ratings": "满意度评价",
    "rules_comments": "管理办法意见",
    "residents": "居民",
    "role_grants": "角色授权",
    "staff": "工作人员账号",
    "subscription_consents": "消息订阅",
    "supervisor_signups": "监督员报名",
    "tallies": "计票结果",
    "ticket_event_photos": "工单答复照片",
    "ticket_events": "工单记录",
    "ticket_photos": "工单照片",
    "tickets": "问题工单",
    "uploads": "上传文件",
}

_CANONICAL = {
    alias: name for name, (_, aliases) in OBJECT_TYPES.items() for alias in (name, *aliases)
}


def action_label(action: str) -> str:
    """The Chinese name of a staff write (the endpoint itself for one the table lacks)."""
    return ACTIONS.get(action, action)


def table_label(table: str | None) -> str | None:
    """The Chinese name of a table a change names (the table itself for one not labelled)."""
    return None if table is None else TABLES.get(table, table)


def object_type(stored: str | None) -> str | None:
    """The canonical kind of object of an entry's `object_type` (a table name → its kind)."""
    return None if stored is None else _CANONICAL.get(stored, stored)


def object_label(stored: str | None) -> str | None:
    """The Chinese name of an entry's kind of object."""
    kind = object_type(stored)
    return None if kind is None else OBJECT_TYPES.get(kind, (kind,))[0]


def object_names(kind: str) -> tuple[str, ...]:
    """Every `object_type` an entry about this kind of object may carry."""
    canonical = _CANONICAL.get(kind, kind)
    label_and_aliases = OBJECT_TYPES.get(canonical)
    return (canonical, *(label_and_aliases[1] if label_and_aliases else ()))


class Scope(NamedTuple):
    """The entries a staff member reads: all (`everything`), else those written by staff of
    these counties or of these communities (the entry's `county_id`, `community_id`)."""

    everything: bool
    county_ids: frozenset[int]
    community_ids: frozenset[int]


class Filters(NamedTuple):
    """A search of the trail; None is no condition."""

    staff_id: int | None = None
    object_type: str | None = None
    object_id: int | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _within(statement, scope: Scope):
    if scope.everything:
        return statement
    conditions = []
    if scope.county_ids:
        conditions.append(AuditEntry.county_id.in_(sorted(scope.county_ids)))
    if scope.community_ids:
        conditions.append(AuditEntry.community_id.in_(sorted(scope.community_ids)))
    return statement.where(or_(*conditions)) if conditions else statement.where(False)


def search(scope: Scope, filters: Filters):
    """The entries `scope` reads that match `filters`, newest first (a statement to page)."""
    statement = _within(select(AuditEntry), scope)
    if filters.staff_id is not None:
        statement = statement.where(AuditEntry.staff_id == filters.staff_id)
    if filters.object_type is not None:
        statement = statement.where(AuditEntry.object_type.in_(object_names(filters.object_type)))
    if filters.object_id is not None:
        statement = statement.where(AuditEntry.object_id == filters.object_id)
    if filters.action is not None:
        statement = statement.where(AuditEntry.action == filters.action)
    if filters.since is not None:
        statement = statement.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditEntry.at <= filters.until)
    return statement.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def staff_ids_named(scope: Scope, username: str):
    """A statement for the ids of the staff who wrote entries `scope` reads under this
    username (so that a search by name tells nothing of accounts the caller does not see)."""
    return (
        _within(select(AuditEntry.staff_id), scope)
        .where(AuditEntry.username == username)
        .distinct()
    )


def wrote_in_scope(scope: Scope, staff_id: int):
    """A statement: whether `staff_id` wrote any entry `scope` reads."""
    return _within(select(AuditEntry.id), scope).where(AuditEntry.staff_id == staff_id).limit(1)


# --- the workbook ----------------------------------------------------------------------------

COLUMNS = [
    ("时间", 17),
    ("工作人员", 14),
    ("角色", 22),
    ("操作", 16),
    ("对象", 12),
    ("对象编号", 10),
    ("请求", 40),
    ("来源地址", 16),
    ("变更内容（前 → 后）", 80),
]


def _side(values: dict | None) -> str:
    return "；".join(f"{name}={value}" for name, value in (values or {}).items())


# A cell holds at most this much of an entry's changes (Excel's own limit is 32,767, and an
# export of 50,000 entries is built in memory); the page shows them all.
CELL_MAX = 1000


def changes_text(changes: list[dict]) -> str:
    """An entry's changes as one cell's text: a line per row, its fields before → after,
    cut at `CELL_MAX` characters with a note of how many rows changed."""
    lines = []
    for change in changes:
        head = f"{change.get('table')}#{change['id']}" if change.get("id") else change.get("table")
        op = change.get("op")
        if op in ("insert", "update", "delete"):
            before, after = _side(change.get("before")), _side(change.get("after"))
            lines.append(f"{head} {op}: {before} → {after}".strip())
        else:
            lines.append(f"{head} {op} {change.get('of', '')} {change.get('rows')} 行".strip())
    text = "\n".join(lines)
    if len(text) > CELL_MAX:
        text = text[:CELL_MAX] + f"…（共 {len(changes)} 项变更，全文见操作日志页面）"
    return text


def _cell(value: str) -> str:
    # Control characters openpyxl cannot write (a value kept from an old row) are dropped.
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def workbook(entries, title: str) -> bytes:
    """The entries as an Excel workbook, one row each, newest first as given."""
    book = Workbook()
    add_sheet(
        book,
        "操作日志",
        title,
        COLUMNS,
        (
            [
                entry.at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S"),
                _cell(entry.username),
                "、".join(entry.roles or []),
                action_label(entry.action),
                object_label(entry.object_type) or "",
                entry.object_id,
                _cell(f"{entry.method} {entry.path}"),
                entry.address or "",
                _cell(changes_text(entry.changes or [])),
            ]
            for entry in entries
        ),
    )
    return workbook_bytes(book)
