"""A consultation's turnout list and result as Excel workbooks (openpyxl): Chinese headers, a
title row, the header frozen below it, columns wide enough to read, named sheets.

The functions take what the routes already read and may show (the turnout rows, the tally as
the caller may see it) and return the file's bytes; they read no database and decide nothing
about who may see what.
"""

from __future__ import annotations

from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment

from api.core import labels, sheets

PERCENT = "0.00%"
DAY = "yyyy-mm-dd"
AREA = "#,##0.00"


_sheet = sheets.add_sheet
_bytes = sheets.workbook_bytes
_local = sheets.local_minute


def _yes(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


# --- the turnout list -----------------------------------------------------------------------


TURNOUT_COLUMNS = [
    ("小区", 18),
    ("楼栋", 10),
    ("单元", 10),
    ("房号（脱敏）", 14),
    ("是否投票", 10),
    ("投票方式", 12),
    ("委托投票", 10),
    ("投票日期", 13),
    ("回执码", 16),
]


def turnout_workbook(consultation, subject: dict, rows: list[dict], today: date) -> bytes:
    """The frozen electorate, one row per household: where (room masked), whether it voted,
    how, on which day, and its receipt; never a choice or a time."""
    voted = sum(1 for row in rows if row["voted"])
    title = (
        f"{subject['project']}「{consultation.title}」投票名单"
        f"（应参与{len(rows)}户，已投票{voted}户；导出日期{today.isoformat()}）"
    )
    book = Workbook()
    _sheet(
        book,
        "投票名单",
        title,
        TURNOUT_COLUMNS,
        (
            [
                row["estate"],
                row["building"],
                row["unit"],
                row["room"],
                "已投票" if row["voted"] else "未投票",
                labels.CHANNELS.get(row["channel"], "") if row["voted"] else "",
                _yes(row["delegated"]),
                row["voted_on"],
                row["receipt"] or "",
            ]
            for row in rows
        ),
        {8: DAY},
    )
    return _bytes(book)


# --- the result -----------------------------------------------------------------------------


def _status(view: dict) -> str:
    if view.get("stale"):
        return "有未计入的选票，待重新计票"
    return "最终结果" if view.get("final") else "临时结果（表决进行中）"


def _summary(consultation, subject: dict, view: dict) -> list[tuple]:
    figures = view.get("figures") or {}
    estates = {e["estate_id"]: e["name"] for e in figures.get("estates", [])}
    kind = consultation.kind
    rows: list[tuple] = [
        ("项目", subject["project"], None),
        ("小区", "、".join(e["name"] for e in subject["estates"]), None),
        ("征询", consultation.title, None),
        ("种类", labels.CONSULTATION_KINDS[kind], None),
        ("方案版本", f"第{subject['plan_version']}版" if subject["plan_version"] else "", None),
        ("征询状态", labels.CONSULTATION_STATUSES[consultation.status], None),
        ("开始时间", _local(consultation.opened_at), None),
        ("结束时间", _local(consultation.closed_at or consultation.closes_at), None),
        ("计票基准", labels.BASES[consultation.basis], None),
    ]
    if kind == "plan_satisfaction":
        rows.append(("满意度读法", labels.GATE_BASES[consultation.gate_basis], None))
        rows.append(("满意度门槛", float(consultation.threshold), PERCENT))
    if kind == "owners_decision":
        art278 = figures.get("art278", {})
        rows.append(("所议事项", labels.MATTERS.get(consultation.matter, ""), None))
        rows.append(("表决规则", labels.RULES.get(art278.get("rule"), ""), None))
    rows += [
        ("参与门槛", float(consultation.quorum), PERCENT),
        ("应参与户数", view.get("eligible"), None),
        ("已投票户数", view.get("counted"), None),
        ("参与率", view.get("participation_rate"), PERCENT),
    ]
    if kind == "plan_satisfaction":
        rows.append(("按户数的参与率", figures.get("participation_households"), PERCENT))
        rows.append(("满意度", view.get("satisfaction_rate"), PERCENT))
    if kind == "owners_decision":
        rows += _art278_rows(figures)
    if kind != "needs_survey":
        rows.append(("是否通过", "通过" if view.get("passed") else "未通过", None))
        held = [estates.get(i, str(i)) for i in figures.get("held_by", [])]
        rows.append(("未通过的小区", "、".join(held), None))
    rows += [("结果性质", _status(view), None), ("计票时间", _local(view.get("computed_at")), None)]
    return rows


def _art278_rows(figures: dict) -> list[tuple]:
    art278 = figures.get("art278", {})
    voted, eligible = figures.get("voted", {}), figures.get("eligible", {})
    return [
        ("应参与业主人数", eligible.get("owners"), None),
        ("参与表决业主人数", voted.get("owners"), None),
        ("同意的业主人数", art278.get("agreeing_owners"), None),
        ("意见不一的业主人数", art278.get("split_owners"), None),
        ("应参与专有面积（㎡）", eligible.get("floor_area"), AREA),
        ("参与表决专有面积（㎡）", voted.get("floor_area"), AREA),
        ("参与面积占比", art278.get("participation_area"), PERCENT),
        ("参与人数占比", art278.get("participation_owners"), PERCENT),
        ("同意面积占参与面积", art278.get("agree_area_share"), PERCENT),
        ("同意人数占参与人数", art278.get("agree_owner_share"), PERCENT),
        ("参与达标", _yes(art278.get("quorum_met")), None),
        ("同意达标", _yes(art278.get("agreed")), None),
    ]


def _estate_columns(kind: str) -> tuple[list, dict]:
    columns = [("小区", 18), ("应参与户数", 12), ("已投票户数", 12), ("参与率", 10)]
    formats = {4: PERCENT}
    if kind == "plan_satisfaction":
        columns += [("按户数的参与率", 14), ("满意度", 10), ("是否通过", 10)]
        formats.update({5: PERCENT, 6: PERCENT})
    elif kind == "owners_decision":
        columns += [
            ("应参与业主", 12),
            ("参与业主", 10),
            ("同意业主", 10),
            ("意见不一业主", 13),
            ("参与面积占比", 13),
            ("参与人数占比", 13),
            ("同意面积占比", 13),
            ("同意人数占比", 13),
            ("是否通过", 10),
        ]
        formats.update({9: PERCENT, 10: PERCENT, 11: PERCENT, 12: PERCENT})
    return columns, formats


def _estate_row(kind: str, name: str, entry: dict, passed) -> list:
    voted, eligible = entry.get("voted", {}), entry.get("eligible", {})
    row = [name, eligible.get("households"), voted.get("households")]
    row.append(entry.get("participation_rate"))
    if kind == "plan_satisfaction":
        row += [entry.get("participation_households"), entry.get("satisfaction_rate")]
        row.append("通过" if passed else "未通过")
    elif kind == "owners_decision":
        art278 = entry.get("art278", {})
        row += [
            eligible.get("owners"),
            voted.get("owners"),
            art278.get("agreeing_owners"),
            art278.get("split_owners"),
            art278.get("participation_area"),
            art278.get("participation_owners"),
            art278.get("agree_area_share"),
            art278.get("agree_owner_share"),
            "通过" if passed else "未通过",
        ]
    return row


def _choice_rows(kind: str, figures: dict) -> list[list]:
    """Per estate (and pooled) and choice: households, persons, floor area."""
    answers = labels.CHOICES.get(kind) or {"picked": labels.BALLOT_CHOICES["picked"]}
    parts = [(e["name"], e) for e in figures.get("estates", [])]
    if len(parts) != 1:
        parts.append(("合计", figures))
    rows = []
    for name, part in parts:
        by_choice = part.get("by_choice", {})
        for choice, label_ in answers.items():
            weights = by_choice.get(choice, {})
            rows.append(
                [
                    name,
                    label_,
                    weights.get("households", 0),
                    weights.get("persons", 0),
                    weights.get("floor_area", 0),
                ]
            )
    return rows


def _ranking_rows(figures: dict) -> list[list]:
    parts = [("合计", figures.get("ranking", []))]
    parts += [(e["name"], e.get("ranking", [])) for e in figures.get("estates", [])]
    return [
        [name, rank, labels.PLAN_ITEM_CATEGORIES.get(row["item"], row["item"]), row["households"]]
        for name, ranking in parts
        for rank, row in enumerate(ranking, start=1)
    ]


def result_workbook(consultation, subject: dict, view: dict, today: date) -> bytes:
    """The result as `GET /consultations/{id}/tally` shows it to the caller (`view`, which the
    route hands over only when nothing is hidden): a summary, each estate's figures and
    verdict with the pooled line, the counts per choice, and a needs survey's ranking."""
    kind = consultation.kind
    figures = view.get("figures") or {}
    heading = f"{subject['project']}「{consultation.title}」"
    book = Workbook()
    _sheet(
        book,
        "计票结果",
        f"{heading}计票结果（{_status(view)}；导出日期{today.isoformat()}）",
        [("项目", 24), ("内容", 48)],
        [(name, value) for name, value, _ in _summary(consultation, subject, view)],
    )
    summary = book["计票结果"]
    for offset, (_, _, number_format) in enumerate(_summary(consultation, subject, view)):
        if number_format:
            summary.cell(row=3 + offset, column=2).number_format = number_format
        summary.cell(row=3 + offset, column=2).alignment = Alignment(horizontal="left")
    columns, formats = _estate_columns(kind)
    estates = [_estate_row(kind, e["name"], e, e.get("passed")) for e in figures.get("estates", [])]
    if len(estates) != 1:
        pooled = {**figures, "participation_rate": view.get("participation_rate")}
        pooled["satisfaction_rate"] = view.get("satisfaction_rate")
        estates.append(_estate_row(kind, "合计", pooled, view.get("passed")))
    _sheet(book, "各小区结果", f"{heading}各小区（建筑区划）结果", columns, estates, formats)
    _sheet(
        book,
        "各选项票数",
        f"{heading}各选项票数",
        [("小区", 18), ("选项", 12), ("户数", 10), ("人数", 10), ("专有面积（㎡）", 16)],
        _choice_rows(kind, figures),
        {5: AREA},
    )
    if kind == "needs_survey":
        _sheet(
            book,
            "需求排序",
            f"{heading}需求排序（按勾选户数）",
            [("范围", 18), ("排名", 8), ("改造项目", 22), ("勾选户数", 12)],
            _ranking_rows(figures),
        )
    return _bytes(book)
