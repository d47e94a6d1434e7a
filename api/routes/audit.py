"""The audit trail of staff writes (操作日志): searched page by page, and exported as Excel.

Who reads which entries follows the grants (`participation.policy`): the prefecture every
entry, a county officer the entries written by staff of their county (its officers, its
communities' clerks, its projects' owners), a committee clerk the entries written by the clerks
of their community. A project owner reads none (403): the trail is the supervisors' record.
"""

from __future__ import annotations

import marshmallow as ma
from sqlalchemy import func, select

from api import auth
from api.core import Forbidden, InvalidInput, audit_log, db, labels, local_text, utcnow
from api.core.audit import AuditEntry
from api.core.fields import DateTime, query_id, text
from api.http import Blueprint, PageArgs, page_schema, paginate
from api.routes.exports import XLSX, download, download_doc
from participation import policy
from participation.models import Staff

blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/v1",
    description="The audit trail of staff writes (操作日志): search and Excel export",
)

# An export larger than this is refused with the count, so that the server never builds a
# workbook nobody can open; narrow the time range or the filters instead.
EXPORT_MAX = 50_000


def audit_scope(staff: Staff) -> audit_log.Scope:
    """The entries `staff` reads (see the module's docstring); 403 `out_of_scope` for staff
    whose grants are only project owners'."""
    scope = audit_log.Scope(
        everything=policy.is_prefecture(staff),
        county_ids=frozenset(policy.scope_ids(staff, "county")),
        community_ids=frozenset(policy.scope_ids(staff, "committee")),
    )
    if not (scope.everything or scope.county_ids or scope.community_ids):
        raise Forbidden("操作日志仅供市、县（市、区）主管部门和社区居委会查看", code="out_of_scope")
    return scope


class AuditFilterArgs(ma.Schema):
    class Meta:
        description = (
            "Every condition is optional. `from` and `to` take a time with its UTC offset; "
            "`from` after `to` is 422 `bad_time_range`. `object_id` needs `object_type`. A "
            "`staff` who wrote no entry the caller reads is 422 `staff_not_found`."
        )

    staff = text(
        64,
        metadata={"description": "a staff account's id, or its username, who wrote the entry"},
    )
    object_type = ma.fields.String(
        validate=ma.validate.OneOf(list(audit_log.OBJECT_TYPES)),
        metadata={"description": "the kind of object the entry is about"},
    )
    object_id = query_id(metadata={"description": "the object's id (with object_type)"})
    action = ma.fields.String(
        validate=ma.validate.OneOf(list(audit_log.ACTIONS)),
        metadata={"description": "the staff write, by its endpoint (`GET /audit/labels`)"},
    )
    since = DateTime(data_key="from", metadata={"description": "entries at or after"})
    until = DateTime(data_key="to", metadata={"description": "entries at or before"})

    @ma.validates_schema
    def _consistent(self, data, **kwargs):
        if data.get("object_id") is not None and data.get("object_type") is None:
            raise ma.ValidationError(
                "按对象编号查询时请同时指定对象类型 object_type", "object_type"
            )


class AuditPageArgs(AuditFilterArgs, PageArgs):
    pass


class ChangeSchema(ma.Schema):
    table = ma.fields.String(metadata={"description": "the table of the row"})
    table_label = ma.fields.String(metadata={"description": "what the table holds, in Chinese"})
    id = ma.fields.Raw(metadata={"description": "the row's id (absent for a bulk statement)"})
    op = ma.fields.String(
        metadata={
            "description": "insert, update, delete; bulk_insert, bulk_update, bulk_delete "
            "(with `rows`); more (the rows past the first 100, counted with `of` and `rows`)"
        }
    )
    before = ma.fields.Dict(metadata={"description": "the fields before (masked)"})
    after = ma.fields.Dict(metadata={"description": "the fields after (masked)"})
    rows = ma.fields.Integer(allow_none=True)
    of = ma.fields.String()


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.AwareDateTime()
    staff_id = ma.fields.Integer()
    username = ma.fields.String()
    roles = ma.fields.List(
        ma.fields.String(), metadata={"description": "the grants held: `committee:3`"}
    )
    role_labels = ma.fields.List(ma.fields.String(), metadata={"description": "in Chinese"})
    action = ma.fields.String(metadata={"description": "the endpoint: `places.edit_household`"})
    action_label = ma.fields.String(metadata={"description": "what was done, in Chinese"})
    method = ma.fields.String()
    path = ma.fields.String()
    object_type = ma.fields.String(allow_none=True)
    object_label = ma.fields.String(allow_none=True, metadata={"description": "in Chinese"})
    object_id = ma.fields.Integer(allow_none=True)
    address = ma.fields.String(allow_none=True)
    request_id = ma.fields.String(allow_none=True)
    changes = ma.fields.List(ma.fields.Nested(ChangeSchema))


class LabelSchema(ma.Schema):
    code = ma.fields.String()
    label = ma.fields.String()


class AuditLabelsSchema(ma.Schema):
    actions = ma.fields.List(ma.fields.Nested(LabelSchema))
    object_types = ma.fields.List(ma.fields.Nested(LabelSchema))


def _role_label(role: str) -> str:
    name, _, scope_id = role.partition(":")
    label = labels.ROLES.get(name, name)
    return f"{label}（{scope_id}）" if scope_id else label


def _item(entry: AuditEntry) -> dict:
    return {
        "id": entry.id,
        "at": entry.at,
        "staff_id": entry.staff_id,
        "username": entry.username,
        "roles": entry.roles or [],
        "role_labels": [_role_label(role) for role in entry.roles or []],
        "action": entry.action,
        "action_label": audit_log.action_label(entry.action),
        "method": entry.method,
        "path": entry.path,
        "object_type": audit_log.object_type(entry.object_type),
        "object_label": audit_log.object_label(entry.object_type),
        "object_id": entry.object_id,
        "address": entry.address,
        "request_id": entry.request_id,
        "changes": [
            {**change, "table_label": audit_log.table_label(change.get("table"))}
            for change in entry.changes or []
        ],
    }


def _filters(scope: audit_log.Scope, args: dict) -> audit_log.Filters:
    since, until = args.get("since"), args.get("until")
    if since is not None and until is not None and since > until:
        raise InvalidInput(
            "开始时间不能晚于结束时间", code="bad_time_range", details={"from": ["晚于 to"]}
        )
    staff_id = None
    if args.get("staff"):
        staff_id = _staff_id(scope, args["staff"].strip())
    return audit_log.Filters(
        staff_id=staff_id,
        object_type=args.get("object_type"),
        object_id=args.get("object_id"),
        action=args.get("action"),
        since=since,
        until=until,
    )


def _staff_id(scope: audit_log.Scope, staff: str) -> int:
    """The id of the staff member the search names, by id or username, among those who wrote
    entries the caller reads: anyone else is 422 alike, an account that exists elsewhere as
    one that does not."""
    if staff.isascii() and staff.isdigit() and len(staff) <= 9:
        if db.session.scalar(audit_log.wrote_in_scope(scope, int(staff))) is not None:
            return int(staff)
    ids = db.session.scalars(audit_log.staff_ids_named(scope, staff)).all()
    if len(ids) == 1:
        return ids[0]
    raise InvalidInput(
        "操作日志中没有该工作人员的记录", code="staff_not_found", details={"staff": [staff]}
    )


@blp.get("/audit")
@auth.staff_required
@blp.arguments(AuditPageArgs, location="query")
@blp.response(200, page_schema(AuditEntrySchema, "AuditEntryPage"))
@blp.errors(401, 403, 422)
def list_audit(args):
    """The audit trail (操作日志), newest first, a page at a time: who (username and grants),
    what (the endpoint and its Chinese label), the object, when, from which address, and the
    rows' fields before and after (personal data masked). Searched by staff, object, action
    and time. The prefecture reads every entry, a county officer the entries of their county's
    staff, a committee clerk those of their community's clerks; a project owner 403
    `out_of_scope`, residents 403 `staff_only`."""
    scope = audit_scope(auth.current_staff())
    page = paginate(audit_log.search(scope, _filters(scope, args)), args)
    page["items"] = [_item(entry) for entry in page["items"]]
    return page


@blp.get("/audit/labels")
@auth.staff_required
@blp.response(200, AuditLabelsSchema)
@blp.errors(401, 403)
def audit_labels():
    """The Chinese labels of the trail's actions and kinds of object, for the console's
    search (who may read the trail: as `GET /audit`)."""
    audit_scope(auth.current_staff())
    return {
        "actions": [{"code": c, "label": label} for c, label in audit_log.ACTIONS.items()],
        "object_types": [
            {"code": c, "label": label} for c, (label, _) in audit_log.OBJECT_TYPES.items()
        ],
    }


@blp.get("/audit.xlsx")
@auth.staff_required
@blp.arguments(AuditFilterArgs, location="query")
@download_doc(XLSX, "the audit trail's entries the search finds, as an Excel workbook")
@blp.errors(401, 403, 422)
def audit_workbook(args):
    """The entries `GET /audit` finds with the same conditions, every page, as an Excel
    workbook (newest first): time, staff, grants, action, object, request, address and the
    fields before → after. More than 50,000 entries is 422 `export_too_large` with the count:
    narrow the time range or add a condition."""
    scope = audit_scope(auth.current_staff())
    statement = audit_log.search(scope, _filters(scope, args))
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    if total > EXPORT_MAX:
        raise InvalidInput(
            f"符合条件的记录有 {total} 条，超过单次导出上限 {EXPORT_MAX} 条，"
            "请缩小时间范围或增加查询条件",
            code="export_too_large",
            details={"total": total, "limit": EXPORT_MAX},
        )
    entries = db.session.scalars(statement).yield_per(1000)
    data = audit_log.workbook(
        entries, f"操作日志（共 {total} 条；导出时间 {local_text(utcnow())}）"
    )
    return download(data, XLSX, "操作日志.xlsx", "audit.xlsx")
