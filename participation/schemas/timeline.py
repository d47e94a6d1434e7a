"""A project's timeline (GET /projects/{id}/timeline): its history and what is to come, one
entry a thing that happened or is due, in time order.

Each domain turns its own rows into entries of this one shape (`entry`): participation its
lifecycle transitions, plan versions and milestones (`project_entries`), voting its
consultations, feedback its progress updates. The route merges them (`in_time_order`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import marshmallow as ma
from marshmallow import fields

from api.core import LOCAL, labels
from participation.models import Project

KINDS = tuple(labels.TIMELINE_KINDS)


def entry(at: datetime, kind: str, title: str, detail: str | None = None, **refs) -> dict:
    """A timeline entry at `at` (aware), of `kind`, with what `TimelineEntrySchema` shows
    (`refs`: the ids and fields of its kind)."""
    return {"at": at, "all_day": False, "kind": kind, "title": title, "detail": detail, **refs}


def day_entry(on: date, kind: str, title: str, detail: str | None = None, **refs) -> dict:
    """An entry for a whole day on the prefecture's clock (a milestone's date): at the day's
    start, local time (given in UTC, as every `at`), `all_day` true."""
    at = datetime.combine(on, time.min, LOCAL).astimezone(UTC)
    return {**entry(at, kind, title, detail, **refs), "all_day": True}


def excerpt(text: str | None, length: int = 60) -> str | None:
    """The start of `text` for a timeline line (the reply of its own endpoint has it all)."""
    if text is None or len(text) <= length:
        return text
    return text[: length - 1] + "…"


def _day(on: date) -> str:
    return f"{on:%Y年%m月%d日}"


def project_entries(project: Project, today: date) -> list[dict]:
    """Participation's entries of `project`: each lifecycle transition, each plan version, and
    each milestone, at its done date when met (`milestone_done`, flagged when late), else at its
    due date (`milestone_due`, flagged when past). Reads `project.transitions`, `plans` and
    `milestones` (load them with the project)."""
    statuses = labels.PROJECT_STATUSES
    found = [
        entry(
            t.at,
            "transition",
            f"项目进入「{statuses[t.to_status]}」阶段",
            f"由「{statuses[t.from_status]}」转为「{statuses[t.to_status]}」",
            status=t.to_status,
            status_label=statuses[t.to_status],
        )
        for t in project.transitions
    ]
    found += [
        entry(
            p.created_at,
            "plan_version",
            f"改造方案第{p.version}版",
            excerpt(p.summary),
            plan_id=p.id,
        )
        for p in project.plans
    ]
    for m in project.milestones:
        label = labels.MILESTONES[m.kind]
        overdue = m.overdue(today)
        common = {
            "milestone": m.kind,
            "milestone_label": label,
            "due_on": m.due_on,
            "done_on": m.done_on,
            "overdue": overdue,
        }
        if m.done_on is not None:
            late = f"，比计划晚{(m.done_on - m.due_on).days}天" if overdue else ""
            detail = f"已于{_day(m.done_on)}完成（计划{_day(m.due_on)}前完成{late}）"
            found.append(day_entry(m.done_on, "milestone_done", label, detail, **common))
        else:
            detail = f"计划于{_day(m.due_on)}前完成" + ("，已逾期" if overdue else "")
            found.append(day_entry(m.due_on, "milestone_due", label, detail, **common))
    return found


def in_time_order(entries: list[dict], now: datetime) -> list[dict]:
    """`entries` oldest first (at the same moment, in the order of `KINDS`), each marked
    `future` when it is still to come."""
    ordered = sorted(entries, key=lambda e: (e["at"], KINDS.index(e["kind"])))
    return [{**e, "future": e["at"] > now} for e in ordered]


class TimelineEntrySchema(ma.Schema):
    class Meta:
        description = (
            "One entry of a project's timeline. `at` is when it happened or is due; an entry of "
            "a whole day (a milestone) has `all_day` true and `at` at that day's start, Beijing "
            "time. `future`: still to come. The fields after `detail` are those of its kind, "
            "null for the others."
        )

    at = fields.DateTime()
    all_day = fields.Boolean()
    future = fields.Boolean()
    kind = fields.String(metadata={"enum": list(KINDS)})
    kind_label = fields.Function(
        lambda e: labels.TIMELINE_KINDS[e["kind"]], metadata={"type": "string"}
    )
    title = fields.String()
    detail = fields.String(allow_none=True)
    status = fields.String(
        allow_none=True,
        dump_default=None,
        metadata={"description": "transition: the stage entered"},
    )
    status_label = fields.String(allow_none=True, dump_default=None)
    plan_id = fields.Integer(allow_none=True, dump_default=None)
    milestone = fields.String(
        allow_none=True, dump_default=None, metadata={"enum": [*labels.MILESTONES, None]}
    )
    milestone_label = fields.String(allow_none=True, dump_default=None)
    due_on = fields.Date(allow_none=True, dump_default=None)
    done_on = fields.Date(allow_none=True, dump_default=None)
    overdue = fields.Boolean(
        allow_none=True,
        dump_default=None,
        metadata={"description": "milestones: not met by the due date (open past it, or late)"},
    )
    consultation_id = fields.Integer(allow_none=True, dump_default=None)
    consultation_kind = fields.String(
        allow_none=True, dump_default=None, metadata={"enum": [*labels.CONSULTATION_KINDS, None]}
    )
    consultation_kind_label = fields.String(allow_none=True, dump_default=None)
    progress_id = fields.Integer(allow_none=True, dump_default=None)
    photo_count = fields.Integer(allow_none=True, dump_default=None)
