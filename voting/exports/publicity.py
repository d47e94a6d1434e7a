"""The publicity sheet (结果公示) of a plan satisfaction consultation, as a printable A4 PDF
(reportlab): the estates, the project, the plan version, the voting period, the electorate,
participation against the quorum, satisfaction against the threshold (at least 90%), passed or
not, each estate of a bundled project, the date, and a place for the committee's seal.

Made from the final tally only (the route refuses anything else); the Chinese text is set in
the embedded CJK font of `voting.exports.fonts`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Circle, Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from api.core import LOCAL, labels
from voting.exports.fonts import cjk_font


def percent(rate: float | None) -> str:
    """0.964286 → 96.42%: cut, never rounded up, so that a sheet never shows a rate reaching
    a threshold that the exact rate does not reach (0.899999 is 89.99%, not 90.00%)."""
    if rate is None:
        return "—"
    shown = (Decimal(str(rate)) * 100).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return f"{shown.normalize():f}%" if shown == shown.to_integral() else f"{shown}%"


def share(value: Fraction) -> str:
    """A threshold as people read it: 9/10 → 90%, 2/3 → 2/3 (not a rounded 66.67%)."""
    hundredths = value * 100
    return f"{hundredths.numerator}%" if hundredths.denominator == 1 else f"{value}"


def _day(when: datetime | None) -> str:
    return f"{when.astimezone(LOCAL):%Y年%m月%d日}" if when else "—"


def _date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _choices(entry: dict) -> str:
    by_choice = entry.get("by_choice", {})
    return "，".join(
        f"{name}{by_choice.get(choice, {}).get('households', 0)}户"
        for choice, name in labels.CHOICES["plan_satisfaction"].items()
    )


def publicity_sheet(consultation, subject: dict, view: dict, today: date) -> bytes:
    """The sheet's PDF bytes. `view` is the final tally as the tally endpoint shows it after
    the close (nothing hidden)."""
    font = cjk_font()
    body = ParagraphStyle("body", fontName=font, fontSize=11.5, leading=20)
    title_style = ParagraphStyle(
        "title", fontName=font, fontSize=20, leading=30, alignment=TA_CENTER, spaceAfter=6 * mm
    )
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT)
    cell = ParagraphStyle("cell", fontName=font, fontSize=10.5, leading=15)

    figures = view.get("figures") or {}
    estates = figures.get("estates", [])
    estate_names = "、".join(e["name"] for e in subject["estates"])
    communities = "、".join(dict.fromkeys(e["community"] for e in subject["estates"]))
    version = f"第{subject['plan_version']}版" if subject["plan_version"] else "—"
    threshold, quorum = share(consultation.threshold), share(consultation.quorum)
    passed = bool(view.get("passed"))
    verdict = "通过" if passed else "未通过"
    # A bundled project passes estate by estate: its pooled rates are for reading only.
    pooled = "（合计）" if len(estates) > 1 else ""

    def p(text: str, style=cell) -> Paragraph:
        return Paragraph(escape(text), style)

    rows = [
        ("小区", estate_names),
        ("改造项目", subject["project"]),
        ("方案版本", version),
        ("征询事项", consultation.title),
        ("征询时间", f"{_day(consultation.opened_at)} 至 {_day(consultation.closed_at)}"),
        ("计票基准", labels.BASES[consultation.basis]),
        ("应参与户数", f"{view.get('eligible', 0)}户"),
        ("已投票户数", f"{view.get('counted', 0)}户"),
        (
            f"参与率{pooled}",
            f"{percent(view.get('participation_rate'))}（参与门槛 {quorum}）",
        ),
        (
            f"满意度{pooled}",
            f"{percent(view.get('satisfaction_rate'))}（门槛 {threshold}；{_choices(figures)}）",
        ),
        ("满意度读法", labels.GATE_BASES[consultation.gate_basis]),
        ("征询结果", verdict),
    ]
    facts = Table(
        [[p(name), p(value)] for name, value in rows],
        colWidths=[32 * mm, 128 * mm],
        style=_grid(),
    )
    story = [
        Paragraph(escape(f"{subject['project']}改造方案满意度征询结果公示"), title_style),
        p(
            "按照城镇老旧小区改造“居民满意度达到90%以上方可实施”的要求，"
            f"{estate_names}{subject['project']}改造方案（{version}）已完成居民满意度征询，"
            "现将结果公示如下：",
            body,
        ),
        Spacer(1, 4 * mm),
        facts,
    ]
    if len(estates) > 1:
        story += [
            Spacer(1, 5 * mm),
            p("项目涉及多个小区，各小区分别计票，每个小区都通过方可通过：", body),
            Spacer(1, 2 * mm),
            Table(
                [[p(h) for h in ("小区", "应参与", "已投票", "参与率", "满意度", "结果")]]
                + [
                    [
                        p(e["name"]),
                        p(f"{e.get('eligible', {}).get('households', 0)}户"),
                        p(f"{e.get('voted', {}).get('households', 0)}户"),
                        p(percent(e.get("participation_rate"))),
                        p(percent(e.get("satisfaction_rate"))),
                        p("通过" if e.get("passed") else "未通过"),
                    ]
                    for e in estates
                ],
                colWidths=[40 * mm, 22 * mm, 22 * mm, 24 * mm, 24 * mm, 28 * mm],
                style=_grid(header=True),
            ),
        ]
    story += [
        Spacer(1, 6 * mm),
        p(
            f"公示期间，居民如有异议，可向{communities}居民委员会反映。选票保密，本公示不列出"
            "任何住户的选择。",
            body,
        ),
        p("特此公示。", body),
        Spacer(1, 8 * mm),
        _signature(font, p(f"{communities}居民委员会（盖章）", right), p(_date(today), right)),
    ]
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=22 * mm,
        bottomMargin=20 * mm,
        title=f"{subject['project']}改造方案满意度征询结果公示",
        author=f"{communities}居民委员会",
    )
    document.build(story)
    return out.getvalue()


def _grid(header: bool = False) -> TableStyle:
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("BACKGROUND", (0, 0), (0, -1) if not header else (-1, 0), colors.HexColor("#EEF3F8")),
    ]
    return TableStyle(commands)


def _signature(font: str, committee: Paragraph, day: Paragraph) -> KeepTogether:
    """The committee's name and the date at the right, beside a dashed circle where the
    committee stamps its seal; kept on one page with what precedes it."""
    drawing = Drawing(36 * mm, 36 * mm)
    drawing.add(
        Circle(
            18 * mm,
            18 * mm,
            17 * mm,
            strokeColor=colors.grey,
            strokeDashArray=[3, 3],
            fillColor=None,
        )
    )
    drawing.add(
        String(
            18 * mm,
            17 * mm,
            "盖章处",
            fontName=font,
            fontSize=11,
            fillColor=colors.grey,
            textAnchor="middle",
        )
    )
    table = Table([[[committee, day], drawing]], colWidths=[120 * mm, 40 * mm])
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (1, 0), (1, 0), "RIGHT")])
    )
    return KeepTogether([table])
