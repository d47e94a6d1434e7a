"""The publicity sheet (结果公示) of a consultation's final result, as a printable A4 PDF
(reportlab): the estates, the project, the voting period, the electorate and participation,
then what the kind decides — a plan satisfaction consultation's satisfaction against the
threshold (at least 90%) and the plan version, a needs survey's ranking of the items, an owners'
decision's art. 278 figures (participation and agreement by area and by head count, the rule,
passed or not) — each estate of a bundled project, the date, and a place for the committee's
seal.

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


def _choices(kind: str, entry: dict) -> str:
    by_choice = entry.get("by_choice", {})
    return "，".join(
        f"{name}{by_choice.get(choice, {}).get('households', 0)}户"
        for choice, name in labels.CHOICES[kind].items()
    )


def _area(value) -> str:
    return f"{Decimal(str(value or 0)).quantize(Decimal('0.01'))}㎡"


def _verdict(passed) -> str:
    return "通过" if passed else "未通过"


# The sheet's title after the project's name, per kind.
TITLES = {
    "plan_satisfaction": "改造方案满意度征询结果公示",
    "needs_survey": "改造需求调查结果公示",
    "owners_decision": "业主共同决定表决结果公示",
}


class _Styles:
    def __init__(self, font: str):
        self.font = font
        self.body = ParagraphStyle("body", fontName=font, fontSize=11.5, leading=20)
        self.title = ParagraphStyle(
            "title",
            fontName=font,
            fontSize=20,
            leading=30,
            alignment=TA_CENTER,
            spaceAfter=6 * mm,
        )
        self.right = ParagraphStyle("right", parent=self.body, alignment=TA_RIGHT)
        self.cell = ParagraphStyle("cell", fontName=font, fontSize=10.5, leading=15)

    def p(self, text: str, style=None) -> Paragraph:
        return Paragraph(escape(text), style or self.cell)

    def facts(self, rows) -> Table:
        return Table(
            [[self.p(name), self.p(value)] for name, value in rows],
            colWidths=[36 * mm, 124 * mm],
            style=_grid(),
        )

    def table(self, header, rows, widths) -> Table:
        return Table(
            [[self.p(h) for h in header]] + [[self.p(str(c)) for c in row] for row in rows],
            colWidths=[w * mm for w in widths],
            style=_grid(header=True),
            repeatRows=1,
        )


def publicity_sheet(consultation, subject: dict, view: dict, today: date) -> bytes:
    """The sheet's PDF bytes, for a consultation of any kind. `view` is the final tally as
    the tally endpoint shows it after the close (nothing hidden)."""
    s = _Styles(cjk_font())
    kind = consultation.kind
    figures = view.get("figures") or {}
    estate_names = "、".join(e["name"] for e in subject["estates"])
    communities = "、".join(dict.fromkeys(e["community"] for e in subject["estates"]))
    version = f"第{subject['plan_version']}版" if subject["plan_version"] else "—"
    title = f"{subject['project']}{TITLES[kind]}"
    common = [
        ("小区", estate_names),
        ("改造项目", subject["project"]),
        ("征询事项", consultation.title),
        ("征询时间", f"{_day(consultation.opened_at)} 至 {_day(consultation.closed_at)}"),
    ]
    body = {
        "plan_satisfaction": _plan_satisfaction,
        "needs_survey": _needs_survey,
        "owners_decision": _owners_decision,
    }[kind](s, consultation, subject, view, figures, common, version, estate_names)
    story = [Paragraph(escape(title), s.title), *body]
    # The closing words stay on the page of the seal.
    story += [
        Spacer(1, 6 * mm),
        KeepTogether(
            [
                s.p(
                    f"公示期间，居民如有异议，可向{communities}居民委员会反映。选票保密，"
                    "本公示不列出任何住户的选择。",
                    s.body,
                ),
                s.p("特此公示。", s.body),
                Spacer(1, 4 * mm),
                _signature(
                    s.font,
                    s.p(f"{communities}居民委员会（盖章）", s.right),
                    s.p(_date(today), s.right),
                ),
            ]
        ),
    ]
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=22 * mm,
        bottomMargin=20 * mm,
        title=title,
        author=f"{communities}居民委员会",
    )
    document.build(story)
    return out.getvalue()


def _participation(consultation, view: dict, pooled: str) -> list[tuple[str, str]]:
    return [
        ("计票基准", labels.BASES[consultation.basis]),
        ("应参与户数", f"{view.get('eligible', 0)}户"),
        ("已投票户数", f"{view.get('counted', 0)}户"),
        (
            f"参与率{pooled}",
            f"{percent(view.get('participation_rate'))}（参与门槛 {share(consultation.quorum)}）",
        ),
    ]


def _named(subject: dict) -> str:
    """The project as a sentence names it: its name, after its estates' names unless the name
    already says them (团结小区老旧小区改造项目, not 团结小区团结小区老旧小区改造项目)."""
    project = subject["project"]
    missing = [e["name"] for e in subject["estates"] if e["name"] not in project]
    return "、".join(missing) + project


def _plan_satisfaction(s, consultation, subject, view, figures, common, version, estate_names):
    """Participation against the quorum, satisfaction against the threshold (90% at least),
    passed or not; each estate of a bundled project, which passes only if each one does."""
    estates = figures.get("estates", [])
    # A bundled project passes estate by estate: its pooled rates are for reading only.
    pooled = "（合计）" if len(estates) > 1 else ""
    threshold = share(consultation.threshold)
    rows = [
        *common[:2],
        ("方案版本", version),
        *common[2:],
        *_participation(consultation, view, pooled),
        (
            f"满意度{pooled}",
            f"{percent(view.get('satisfaction_rate'))}（门槛 {threshold}；"
            f"{_choices('plan_satisfaction', figures)}）",
        ),
        ("满意度读法", labels.GATE_BASES[consultation.gate_basis]),
        ("征询结果", _verdict(view.get("passed"))),
    ]
    story = [
        s.p(
            "按照城镇老旧小区改造“居民满意度达到90%以上方可实施”的要求，"
            f"{_named(subject)}改造方案（{version}）已完成居民满意度征询，"
            "现将结果公示如下：",
            s.body,
        ),
        Spacer(1, 4 * mm),
        s.facts(rows),
    ]
    if len(estates) > 1:
        story += [
            Spacer(1, 5 * mm),
            s.p("项目涉及多个小区，各小区分别计票，每个小区都通过方可通过：", s.body),
            Spacer(1, 2 * mm),
            s.table(
                ("小区", "应参与", "已投票", "参与率", "满意度", "结果"),
                [
                    (
                        e["name"],
                        f"{e.get('eligible', {}).get('households', 0)}户",
                        f"{e.get('voted', {}).get('households', 0)}户",
                        percent(e.get("participation_rate")),
                        percent(e.get("satisfaction_rate")),
                        _verdict(e.get("passed")),
                    )
                    for e in estates
                ],
                (40, 22, 22, 24, 24, 28),
            ),
        ]
    return story


def _ranked(options: list[str], ranking: list[dict]) -> list[tuple[int, str, int]]:
    """(rank, item, households) for every option, most picked first; items picked equally
    share a rank (1, 2, 2, 4), and options nobody picked come last with 0."""
    counts = {row["item"]: row["households"] for row in ranking}
    for option in options:
        counts.setdefault(option, 0)
    position = {option: index for index, option in enumerate(options)}
    ordered = sorted(
        counts.items(), key=lambda pair: (-pair[1], position.get(pair[0], len(options)), pair[0])
    )
    return [
        (1 + sum(1 for n in counts.values() if n > households), item, households)
        for item, households in ordered
    ]


def _item(item: str) -> str:
    return labels.PLAN_ITEM_CATEGORIES.get(item, item)


def _needs_survey(s, consultation, subject, view, figures, common, version, estate_names):
    """Participation, and the items ranked by the households that picked them (each estate's
    ranking too, for a bundled project); a survey decides nothing, so no verdict."""
    estates = figures.get("estates", [])
    options = list(consultation.options or [])
    counted = view.get("counted") or 0
    pooled = "（合计）" if len(estates) > 1 else ""
    story = [
        s.p(
            f"为了解居民对{_named(subject)}的改造需求，社区组织了改造需求"
            "调查，每户可勾选希望优先改造的内容。现将调查结果公示如下，作为编制改造方案的依据：",
            s.body,
        ),
        Spacer(1, 4 * mm),
        s.facts([*common, *_participation(consultation, view, pooled)]),
        Spacer(1, 5 * mm),
        s.p(f"改造需求排序{pooled}（按勾选户数，占已投票户数的比例）：", s.body),
        Spacer(1, 2 * mm),
        s.table(
            ("排名", "改造内容", "勾选户数", "占已投票户数"),
            [
                (rank, _item(item), f"{n}户", percent(n / counted if counted else None))
                for rank, item, n in _ranked(options, figures.get("ranking", []))
            ],
            (20, 70, 34, 36),
        ),
    ]
    if len(estates) > 1:
        story += [
            Spacer(1, 5 * mm),
            s.p("各小区的需求排序：", s.body),
            Spacer(1, 2 * mm),
            s.table(
                ("小区", "排名", "改造内容", "勾选户数"),
                [
                    (e["name"], rank, _item(item), f"{n}户")
                    for e in estates
                    for rank, item, n in _ranked(options, e.get("ranking", []))
                ],
                (44, 20, 64, 32),
            ),
        ]
    return story


def _rule(consultation, rule: str | None) -> str:
    quorum = share(consultation.quorum)
    agree = "四分之三以上" if rule == "three_quarters" else "过半数"
    return (
        f"专有部分面积占比{quorum}以上且人数占比{quorum}以上的业主参与表决，"
        f"并经参与表决专有部分面积{agree}且参与表决人数{agree}的业主同意"
    )


def _art278_rows(figures: dict, pooled: str) -> list[tuple[str, str]]:
    """Head count and area: eligible, taking part (against the eligible), agreeing (against
    those taking part)."""
    art278 = figures.get("art278", {})
    voted, eligible = figures.get("voted", {}), figures.get("eligible", {})
    agree = figures.get("by_choice", {}).get("agree", {})
    return [
        (
            f"业主人数{pooled}",
            f"应参与{eligible.get('owners', 0)}人，参与表决{voted.get('owners', 0)}人"
            f"（占{percent(art278.get('participation_owners'))}），"
            f"同意{art278.get('agreeing_owners', 0)}人"
            f"（占参与人数{percent(art278.get('agree_owner_share'))}）",
        ),
        (
            f"专有面积{pooled}",
            f"应参与{_area(eligible.get('floor_area'))}，参与表决{_area(voted.get('floor_area'))}"
            f"（占{percent(art278.get('participation_area'))}），"
            f"同意{_area(agree.get('floor_area'))}"
            f"（占参与面积{percent(art278.get('agree_area_share'))}）",
        ),
    ]


def _outcome(view: dict, figures: dict, estates: list[dict]) -> str:
    """Passed or not, and why: the estates that did not pass (a bundled project), else
    whether participation and agreement each reached the rule."""
    verdict = _verdict(view.get("passed"))
    if len(estates) > 1:
        held = [e["name"] for e in estates if not e.get("passed")]
        return f"{verdict}（未通过的小区：{'、'.join(held)}）" if held else verdict
    art278 = figures.get("art278", {})
    quorum = "参与达标" if art278.get("quorum_met") else "参与未达标"
    agreed = "同意达标" if art278.get("agreed") else "同意未达标"
    return f"{verdict}（{quorum}，{agreed}）"


def _owners_decision(s, consultation, subject, view, figures, common, version, estate_names):
    """The matter and its rule (Civil Code art. 278), participation and agreement by area and
    by head count, passed or not; each estate (建筑区划) decides on its own."""
    estates = figures.get("estates", [])
    art278 = figures.get("art278", {})
    matter = labels.MATTERS.get(consultation.matter, "")
    rule = art278.get("rule") or consultation.rule
    pooled = "（合计）" if len(estates) > 1 else ""
    rows = [
        *common,
        ("所议事项", matter),
        ("表决规则", f"{labels.RULES.get(rule, '')}：{_rule(consultation, rule)}"),
        ("已投票户数", f"{view.get('counted', 0)}户（应参与{view.get('eligible', 0)}户）"),
        *_art278_rows(figures, pooled),
        (f"各方意见{pooled}", _choices("owners_decision", figures)),
        ("表决结果", _outcome(view, figures, estates)),
    ]
    story = [
        s.p(
            "依据《中华人民共和国民法典》第二百七十八条，"
            f"{estate_names}业主就“{matter}”（{subject['project']}）进行了共同决定表决。"
            "业主人数按专有部分计算，同一业主拥有多个专有部分的按一人计算。现将表决结果公示如下：",
            s.body,
        ),
        Spacer(1, 4 * mm),
        s.facts(rows),
    ]
    if len(estates) > 1:
        story += [
            Spacer(1, 5 * mm),
            s.p("项目涉及多个小区（建筑区划），各小区分别表决，每个小区都通过方可通过：", s.body),
            Spacer(1, 2 * mm),
            s.table(
                ("小区", "参与面积", "参与人数", "同意面积", "同意人数", "结果"),
                [
                    (
                        e["name"],
                        percent(e.get("art278", {}).get("participation_area")),
                        percent(e.get("art278", {}).get("participation_owners")),
                        percent(e.get("art278", {}).get("agree_area_share")),
                        percent(e.get("art278", {}).get("agree_owner_share")),
                        _verdict(e.get("passed")),
                    )
                    for e in estates
                ],
                (40, 24, 24, 24, 24, 24),
            ),
        ]
    return story


def _grid(header: bool = False) -> TableStyle:
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("BACKGROUND", (0, 0), (0, -1) if not header else (-1, 0), colors.HexColor("#EEF3F8")),
    ]
    return TableStyle(commands)


def _signature(font: str, committee: Paragraph, day: Paragraph) -> Table:
    """The committee's name and the date at the right, beside a dashed circle where the
    committee stamps its seal (the caller keeps it on one page with the closing words)."""
    drawing = Drawing(34 * mm, 34 * mm)
    drawing.add(
        Circle(
            17 * mm,
            17 * mm,
            16 * mm,
            strokeColor=colors.grey,
            strokeDashArray=[3, 3],
            fillColor=None,
        )
    )
    drawing.add(
        String(
            17 * mm,
            16 * mm,
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
    return table
