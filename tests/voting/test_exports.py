"""The staff's downloads (issue 13, item 6): a consultation's turnout list and result as Excel,
and the publicity sheet (公示) of its result as PDF.

They answer what the JSON endpoints they mirror answer (`/turnout`, `/tally`), to staff only:
anonymous 401, residents 403 `staff_only`, staff out of the project's scope 404 as for a
missing id; a draft 409; a result the API hides is 409 `results_hidden`, never a file. The
files are read back (openpyxl; the PDF's text with pypdf, and its CJK font checked embedded).
"""

from __future__ import annotations

from io import BytesIO
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.support.voting_helpers import backdate_opening, run_jobs
from tests.support.voting_world import (
    ACTORS,
    World,
    assert_error_shape,
    build_world,
    close,
    consultation_in,
    create_consultation,
    diff,
    open_,
    put_ballot,
    snapshot,
)
from tests.voting.test_bundled import bundle_second_community
from voting.exports import fonts

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
C = "/api/v1/consultations/{}"
# path suffix -> (the state of the consultation it needs to answer 200, its media type)
EXPORTS = {
    "turnout.xlsx": ("voted", XLSX),
    "result.xlsx": ("closed", XLSX),
    "publicity.pdf": ("closed", PDF),
}
MISSING = 987_654
ANSWERS = {
    "anonymous": 401,
    "resident_other_estate": 403,
    "resident_unverified": 403,
    "resident_member": 403,  # the exports are the console's: staff only
    "clerk_other_community": 404,
    "owner_other_project": 404,
    "clerk": 200,
    "owner": 200,
    "county_officer": 200,
    "prefecture": 200,
}
CODES = {
    "anonymous": "unauthorized",
    "resident_other_estate": "staff_only",
    "resident_unverified": "staff_only",
    "resident_member": "staff_only",
    "clerk_other_community": "consultation_not_found",
    "owner_other_project": "consultation_not_found",
}
# The turnout list is the committee's, for door-to-door visits (as `/non-voters`): the project
# owner, who sees the project, is refused it.
TURNOUT_ANSWERS = {**ANSWERS, "owner": 403}
TURNOUT_CODES = {**CODES, "owner": "out_of_scope"}
CHOICE_LABELS = {"满意", "不满意", "弃权", "satisfied", "unsatisfied", "abstain"}


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    """The voting world, built once for the module; each test rolls back to it."""
    return build_world(app, module_make)


def test_every_actor_is_in_the_matrix():
    assert set(ANSWERS) == set(ACTORS) and set(CODES) <= set(ACTORS)


def test_the_matrix_lists_every_route_of_the_exports_blueprint(app):
    """tests/voting/test_permissions.py leaves the `exports` blueprint to this matrix."""
    routes = {
        (rule.rule, frozenset(rule.methods - {"HEAD", "OPTIONS"}))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("exports.")
    }
    prefix = "/api/v1/consultations/<int:consultation_id>/"
    assert routes == {(prefix + suffix, frozenset({"GET"})) for suffix in EXPORTS}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("suffix", list(EXPORTS))
def test_permission_matrix(app, client, world, suffix, actor):
    state, mimetype = EXPORTS[suffix]
    cid = consultation_in(app, client, world, state)
    before = snapshot(app)

    reply = client.get(f"{C.format(cid)}/{suffix}", headers=world.headers[actor])

    answers, codes = (
        (TURNOUT_ANSWERS, TURNOUT_CODES) if suffix == "turnout.xlsx" else (ANSWERS, CODES)
    )
    assert reply.status_code == answers[actor], (actor, reply.get_data()[:300])
    if answers[actor] == 200:
        assert reply.mimetype == mimetype
        assert reply.headers["Content-Disposition"].startswith("attachment;")
        assert len(reply.data) > 1000
    else:
        assert_error_shape(reply, code=codes[actor])
    after = snapshot(app)
    assert after == before, f"a download wrote: {diff(before, after)}"


@pytest.mark.parametrize("suffix", list(EXPORTS))
def test_an_id_out_of_scope_is_answered_as_a_missing_one(app, client, world, suffix):
    cid = consultation_in(app, client, world, EXPORTS[suffix][0])
    for actor in ("clerk_other_community", "owner_other_project"):
        headers = world.headers[actor]
        existing = client.get(f"{C.format(cid)}/{suffix}", headers=headers)
        missing = client.get(f"{C.format(MISSING)}/{suffix}", headers=headers)
        assert (existing.status_code, existing.get_json()) == (
            missing.status_code,
            missing.get_json(),
        )
        assert_error_shape(missing, 404, "consultation_not_found")
    # Staff in scope too get the consultation's 404 for an id that does not exist.
    reply = client.get(f"{C.format(MISSING)}/{suffix}", headers=world.headers["clerk"])
    assert_error_shape(reply, 404, "consultation_not_found")


@pytest.mark.parametrize("suffix", list(EXPORTS))
def test_a_draft_has_nothing_to_export(app, client, world, suffix):
    cid = consultation_in(app, client, world, "draft")
    reply = client.get(f"{C.format(cid)}/{suffix}", headers=world.headers["clerk"])
    assert_error_shape(reply, 409, "consultation_not_open")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/consultations/abc/turnout.xlsx",
        "/api/v1/consultations/-1/result.xlsx",
        "/api/v1/consultations/0/publicity.pdf",
        f"/api/v1/consultations/{2**63}/result.xlsx",
        "/api/v1/consultations/1/turnout.csv",
    ],
)
def test_bad_ids_are_404_in_the_error_shape(client, world, path):
    reply = client.get(path, headers=world.headers["clerk"])
    assert reply.status_code == 404, reply.get_data()[:300]
    assert_error_shape(reply)


@pytest.mark.parametrize("suffix", list(EXPORTS))
def test_a_write_method_is_refused_and_writes_nothing(app, client, world, suffix):
    cid = consultation_in(app, client, world, EXPORTS[suffix][0])
    before = snapshot(app)
    reply = client.post(f"{C.format(cid)}/{suffix}", headers=world.headers["clerk"], json={})
    assert_error_shape(reply, 405)
    assert snapshot(app) == before


# --- never more than the API shows -------------------------------------------------------------


def three_of_four_voted(app, client, w: World) -> int:
    cid = create_consultation(client, w)
    open_(client, w, cid)
    for i, choice in enumerate(("satisfied", "satisfied", "unsatisfied")):
        assert put_ballot(client, w.members[i], cid, choice=choice).status_code == 200
    run_jobs(app)
    return cid


def bundled(app, client, w: World, close_it: bool) -> int:
    """The project bundled with an estate of a second community (one household, which does
    not vote); a plan satisfaction consultation run by the county (no single committee covers
    both), three of the first estate's four households voted satisfied; closed if asked."""
    _, _, member_b = bundle_second_community(app, w.scene)
    county = w.headers["county_officer"]
    created = client.post(
        f"/api/v1/projects/{w.project_id}/consultations",
        json={"kind": "plan_satisfaction", "plan_id": w.scene.plan_id},
        headers=county,
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    assert client.post(f"{C.format(cid)}/open", headers=county).status_code == 200
    for i in range(3):
        assert put_ballot(client, w.members[i], cid, choice="satisfied").status_code == 200
    if close_it:
        backdate_opening(app, cid)
        assert client.post(f"{C.format(cid)}/close", headers=county).status_code == 200
    run_jobs(app)
    return cid


@pytest.mark.parametrize("actor", ["clerk", "owner", "county_officer", "prefecture"])
def test_a_result_hidden_from_staff_is_409_not_a_file(app, client, world, actor):
    """Three ballots, RESULTS_MIN_BALLOTS 10: `/tally` shows participation only, so the
    workbook is refused with the reason; the turnout list (who took part) still downloads."""
    cid = three_of_four_voted(app, client, world)
    headers = world.headers[actor]
    tally = client.get(f"{C.format(cid)}/tally", headers=headers).get_json()
    assert tally["results_hidden"] == "too_few_ballots"

    reply = client.get(f"{C.format(cid)}/result.xlsx", headers=headers)
    error = assert_error_shape(reply, 409, "results_hidden")
    assert error["details"] == {"results_hidden": "too_few_ballots"}
    assert "投票户数较少" in error["message"]
    reply = client.get(f"{C.format(cid)}/publicity.pdf", headers=headers)
    assert_error_shape(reply, 409, "consultation_not_closed")
    turnout = client.get(f"{C.format(cid)}/turnout.xlsx", headers=headers)
    assert turnout.status_code == TURNOUT_ANSWERS[actor]


def test_a_bundled_estate_below_the_minimum_keeps_the_workbook_closed(
    app, client, world, monkeypatch
):
    """Staff see a bundled project's pooled result only when every estate has enough ballots
    (`/tally` hides it otherwise): the workbook, which holds the pooled line, is refused."""
    monkeypatch.setitem(app.config, "RESULTS_MIN_BALLOTS", 3)
    cid = bundled(app, client, world, close_it=False)
    tally = client.get(f"{C.format(cid)}/tally", headers=world.headers["clerk"]).get_json()
    assert tally["results_hidden"] == "too_few_ballots"
    reply = client.get(f"{C.format(cid)}/result.xlsx", headers=world.headers["clerk"])
    assert_error_shape(reply, 409, "results_hidden")


def test_a_live_result_staff_may_see_downloads_as_provisional(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "RESULTS_MIN_BALLOTS", 3)
    cid = three_of_four_voted(app, client, world)
    reply = client.get(f"{C.format(cid)}/result.xlsx", headers=world.headers["owner"])
    assert reply.status_code == 200, reply.get_json()
    summary = dict(_rows(load_workbook(BytesIO(reply.data))["计票结果"]))
    assert summary["结果性质"] == "临时结果（表决进行中）"
    assert summary["满意度"] == pytest.approx(2 / 3, abs=1e-6)


def _closed(app, client, w: World, ballots, **body) -> int:
    """A consultation of the world's project, voted (`ballots`: member index -> ballot body),
    closed after its minimum period by the clerk and counted."""
    cid = create_consultation(client, w, **body)
    open_(client, w, cid)
    for i, ballot in ballots.items():
        assert put_ballot(client, w.members[i], cid, **ballot).status_code == 200
    backdate_opening(app, cid)
    close(client, w, cid)
    run_jobs(app)
    return cid


def _keep(name: str, data: bytes) -> None:
    """The sheet beside the browser tests' screenshots, to be rendered and looked at."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "console" / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def test_a_needs_surveys_publicity_sheet_ranks_the_items(app, client, world):
    w = world
    cid = _closed(
        app,
        client,
        w,
        {
            0: {"items": ["parking", "lighting"]},
            1: {"items": ["lighting"]},
            2: {"items": ["lighting", "elevator"]},
        },
        kind="needs_survey",
        plan_id=None,
        options=["parking", "lighting", "elevator", "greening"],
    )
    reply = client.get(f"{C.format(cid)}/publicity.pdf", headers=w.headers["clerk"])
    assert reply.status_code == 200, reply.get_json()
    _keep("publicity-needs-survey.pdf", reply.data)
    text, _ = _pdf_text(reply.data)
    for phrase in (
        "测试项目改造需求调查结果公示",
        "测试小区",
        "应参与户数",
        "4户",
        "3户",
        "75%",  # participation 3/4
        "改造需求排序",
        "照明设施",
        "3户",
        "100%",  # every household that voted picked lighting
        "特此公示",
        "测试社区居民委员会（盖章）",
    ):
        assert phrase in text, (phrase, text)
    # Most picked first; parking and the lift tie (rank 2 each); greening, picked by none, last.
    order = [text.index(label) for label in ("照明设施", "停车设施", "加装电梯", "绿化")]
    assert order == sorted(order), text
    cells = "".join(text.split())
    assert "1照明设施3户100%" in cells and "2停车设施1户33.33%" in cells
    assert "2加装电梯1户" in cells and "4绿化0户0%" in cells
    assert "通过" not in text  # a survey decides nothing


def test_an_owners_decisions_publicity_sheet_gives_the_art_278_figures(app, client, world):
    w = world
    cid = _closed(
        app,
        client,
        w,
        {
            0: {"choice": "agree"},
            1: {"choice": "agree"},
            2: {"choice": "agree"},
            3: {"choice": "disagree"},
        },
        kind="owners_decision",
        matter="rebuild",
        plan_id=None,
    )
    reply = client.get(f"{C.format(cid)}/publicity.pdf", headers=w.headers["county_officer"])
    assert reply.status_code == 200, reply.get_json()
    _keep("publicity-owners-decision.pdf", reply.data)
    text, _ = _pdf_text(reply.data)
    for phrase in (
        "测试项目业主共同决定表决结果公示",
        "第二百七十八条",
        "改建、重建建筑物及其附属设施",
        "四分之三以上同意",
        "业主人数",
        "应参与4人，参与表决4人（占100%），同意3人（占参与人数75%）",
        "专有面积",
        # four households of 80 m²
        "应参与320.00㎡，参与表决320.00㎡（占100%），同意240.00㎡（占参与面积75%）",
        "表决结果",
        "通过（参与达标，同意达标）",
        "同意3户，不同意1户，弃权0户",
    ):
        assert phrase in "".join(text.split()), (phrase, text)
    assert "未通过" not in text


def test_an_owners_decision_that_fails_says_so_per_estate(app, client, world):
    """Bundled with a second community's estate that does not vote: that estate's quorum is
    not met, so the decision fails, and the sheet gives each estate's figures."""
    w = world
    bundle_second_community(app, w.scene)
    county = w.headers["county_officer"]
    created = client.post(
        f"/api/v1/projects/{w.project_id}/consultations",
        json={"kind": "owners_decision", "matter": "use_maintenance_fund"},
        headers=county,
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    assert client.post(f"{C.format(cid)}/open", headers=county).status_code == 200
    for i in range(4):
        assert put_ballot(client, w.members[i], cid, choice="agree").status_code == 200
    backdate_opening(app, cid)
    assert client.post(f"{C.format(cid)}/close", headers=county).status_code == 200
    run_jobs(app)
    reply = client.get(f"{C.format(cid)}/publicity.pdf", headers=county)
    assert reply.status_code == 200, reply.get_json()
    _keep("publicity-owners-decision-bundled.pdf", reply.data)
    text, _ = _pdf_text(reply.data)
    assert "过半数同意" in text and "各小区分别表决" in text
    assert "邻近小区" in text and "测试小区" in text
    assert "未通过（未通过的小区：邻近小区）" in "".join(text.split())


def test_a_publicity_sheet_waits_for_the_close_whatever_the_kind(app, client, world):
    cid = create_consultation(client, world, kind="needs_survey", plan_id=None, options=["parking"])
    open_(client, world, cid)
    reply = client.get(f"{C.format(cid)}/publicity.pdf", headers=world.headers["clerk"])
    assert_error_shape(reply, 409, "consultation_not_closed")


def test_a_missing_font_is_503_not_a_broken_pdf(app, client, world, monkeypatch):
    cid = consultation_in(app, client, world, "closed")
    monkeypatch.setattr(fonts, "NAME", "NotRegisteredYet")
    monkeypatch.setattr(fonts, "CANDIDATES", ())
    reply = client.get(f"{C.format(cid)}/publicity.pdf", headers=world.headers["clerk"])
    assert_error_shape(reply, 503, "font_missing")


# --- what the files hold -------------------------------------------------------------------------


def _rows(sheet, first: int = 3):
    return [row for row in sheet.iter_rows(min_row=first, values_only=True)]


def _filename(reply) -> str:
    disposition = reply.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition, disposition
    return unquote(disposition.split("filename*=UTF-8''", 1)[1])


def test_the_turnout_workbook_lists_the_electorate_masked_without_choices(app, client, world):
    w = world
    cid = consultation_in(app, client, w, "voted")  # households 0, 1 online, 2 on paper
    receipts = {
        client.get(f"{C.format(cid)}/ballot", headers=w.members[i]).get_json()["receipt"]
        for i in (0, 1)
    }
    reply = client.get(f"{C.format(cid)}/turnout.xlsx", headers=w.headers["clerk"])
    assert reply.status_code == 200
    assert _filename(reply).endswith("-投票名单.xlsx")
    assert 'filename="turnout-' in reply.headers["Content-Disposition"]
    assert reply.headers["Cache-Control"] == "no-store"

    book = load_workbook(BytesIO(reply.data))
    assert book.sheetnames == ["投票名单"]
    sheet = book["投票名单"]
    assert "测试项目" in sheet["A1"].value and "应参与4户，已投票3户" in sheet["A1"].value
    assert sheet.freeze_panes == "A3"
    assert [c.value for c in sheet[2]] == [
        "小区",
        "楼栋",
        "单元",
        "房号（脱敏）",
        "是否投票",
        "投票方式",
        "委托投票",
        "投票日期",
        "回执码",
    ]
    assert sheet.column_dimensions["A"].width >= 10
    rows = _rows(sheet)
    assert len(rows) == 4  # the whole frozen electorate
    voted = [r for r in rows if r[4] == "已投票"]
    assert len(voted) == 3 and [r[4] for r in rows].count("未投票") == 1
    assert sorted(r[5] for r in voted) == ["微信投票", "微信投票", "纸质选票"]
    assert receipts <= {r[8] for r in voted}
    assert all(r[7] is not None for r in voted)  # the day
    not_voted = next(r for r in rows if r[4] == "未投票")
    assert not_voted[5:] == (None, None, None, None)  # empty cells
    for row in rows:
        assert row[0] == "测试小区"
        assert row[3].endswith("*"), row  # the room masked as /turnout masks it
    cells = {c for row in rows for c in row if isinstance(c, str)}
    assert not (cells & CHOICE_LABELS)

    # The same households, receipts and channels as the JSON turnout list.
    listed = client.get(f"{C.format(cid)}/turnout", headers=w.headers["clerk"]).get_json()
    assert {(i["receipt"], i["channel_label"]) for i in listed["items"]} == {
        (r[8], r[5]) for r in voted
    }
    assert {i["household"] for i in listed["items"]} == {f"{r[1]}{r[2]}{r[3]}" for r in voted}


def test_the_turnout_workbook_is_the_committees_not_the_owners(app, client, world):
    """In a bundled project each committee gets its own community's households (it knocks on
    those doors); the county gets every estate's; the owner none."""
    w = world
    cid = bundled(app, client, w, close_it=False)

    def estates(actor):
        reply = client.get(f"{C.format(cid)}/turnout.xlsx", headers=w.headers[actor])
        assert reply.status_code == 200, reply.get_json()
        return sorted({r[0] for r in _rows(load_workbook(BytesIO(reply.data))["投票名单"])})

    assert estates("clerk") == ["测试小区"]
    assert estates("county_officer") == ["测试小区", "邻近小区"]
    assert estates("prefecture") == ["测试小区", "邻近小区"]
    reply = client.get(f"{C.format(cid)}/turnout.xlsx", headers=w.headers["owner"])
    error = assert_error_shape(reply, 403, "out_of_scope")
    assert "居委会" in error["message"]


def test_the_result_workbook_holds_the_tallys_figures(app, client, world):
    w = world
    cid = consultation_in(app, client, w, "closed")  # satisfied, unsatisfied, abstain (paper)
    reply = client.get(f"{C.format(cid)}/result.xlsx", headers=w.headers["county_officer"])
    assert reply.status_code == 200
    assert _filename(reply).endswith("-计票结果.xlsx")
    tally = client.get(f"{C.format(cid)}/tally", headers=w.headers["county_officer"]).get_json()

    book = load_workbook(BytesIO(reply.data))
    assert book.sheetnames == ["计票结果", "各小区结果", "各选项票数"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A3" and sheet["A1"].value
    summary = dict(_rows(book["计票结果"]))
    assert summary["项目"] == "测试项目" and summary["小区"] == "测试小区"
    assert summary["方案版本"] == "第1版"
    assert summary["应参与户数"] == tally["eligible"] == 4
    assert summary["已投票户数"] == tally["counted"] == 3
    assert summary["参与率"] == pytest.approx(tally["participation_rate"])
    assert summary["满意度"] == pytest.approx(tally["satisfaction_rate"]) == pytest.approx(1 / 3)
    assert summary["满意度门槛"] == pytest.approx(0.9)
    assert summary["参与门槛"] == pytest.approx(2 / 3)
    assert summary["是否通过"] == "未通过" and summary["结果性质"] == "最终结果"
    assert book["计票结果"]["B14"].number_format == "0.00%" or any(
        c.number_format == "0.00%" for (c,) in book["计票结果"].iter_rows(min_col=2, max_col=2)
    )
    (estate,) = _rows(book["各小区结果"])
    assert estate[:3] == ("测试小区", 4, 3) and estate[-1] == "未通过"
    choices = {(r[1]): r[2:] for r in _rows(book["各选项票数"])}
    assert choices == {"满意": (1, 1, 80), "不满意": (1, 1, 80), "弃权": (1, 1, 80)}


def test_an_owners_decision_workbook_gives_area_and_head_count(app, client, world):
    w = world
    cid = create_consultation(client, w, kind="owners_decision", matter="rebuild")
    open_(client, w, cid)
    for i, choice in enumerate(("agree", "agree", "agree", "disagree")):
        assert put_ballot(client, w.members[i], cid, choice=choice).status_code == 200
    close(client, w, cid)
    run_jobs(app)
    reply = client.get(f"{C.format(cid)}/result.xlsx", headers=w.headers["clerk"])
    assert reply.status_code == 200, reply.get_json()
    summary = dict(_rows(load_workbook(BytesIO(reply.data))["计票结果"]))
    assert summary["所议事项"] == "改建、重建建筑物及其附属设施"
    assert summary["表决规则"] == "四分之三以上同意"
    assert summary["参与表决业主人数"] == 4 and summary["同意的业主人数"] == 3
    assert summary["同意面积占参与面积"] == pytest.approx(0.75)
    assert summary["同意人数占参与人数"] == pytest.approx(0.75)
    assert summary["是否通过"] == "通过"


def _pdf_text(data: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages), reader


def test_the_publicity_sheet_states_the_result_in_chinese_with_its_font_embedded(
    app, client, world
):
    w = world
    cid = consultation_in(app, client, w, "closed")
    reply = client.get(f"{C.format(cid)}/publicity.pdf", headers=w.headers["clerk"])
    assert reply.status_code == 200
    assert reply.data.startswith(b"%PDF-")
    assert _filename(reply).endswith("-结果公示.pdf")

    _keep("publicity-plan-satisfaction.pdf", reply.data)
    text, reader = _pdf_text(reply.data)
    for phrase in (
        "测试项目改造方案满意度征询结果公示",
        "测试小区",
        "第1版",
        "应参与户数",
        "4户",
        "3户",
        "75%",  # participation 3/4
        "33.33%",  # satisfaction 1/3 by ballots, cut, not rounded
        "门槛 90%",
        "参与门槛 2/3",
        "未通过",
        "测试社区居民委员会（盖章）",
        "特此公示",
    ):
        assert phrase in text, (phrase, text)
    fonts_used = [
        font.get_object() for page in reader.pages for font in page["/Resources"]["/Font"].values()
    ]
    cjk = [f for f in fonts_used if "WenQuanYiZenHei" in str(f["/BaseFont"])]
    assert cjk, [str(f["/BaseFont"]) for f in fonts_used]
    # Embedded (a subset of the glyphs used), so it prints the same anywhere.
    assert all("/FontFile2" in f["/FontDescriptor"] for f in cjk)


def test_a_bundled_projects_publicity_sheet_gives_each_estate(app, client, world):
    w = world
    cid = bundled(app, client, w, close_it=True)
    reply = client.get(f"{C.format(cid)}/publicity.pdf", headers=w.headers["prefecture"])
    assert reply.status_code == 200, reply.get_json()
    text, _ = _pdf_text(reply.data)
    assert "各小区分别计票" in text and "邻近小区" in text and "测试小区" in text
    assert "邻近社区" in text  # the committees named for the seal


def test_the_publicity_sheet_names_a_project_without_repeating_its_estates():
    from voting.exports.publicity import _named

    one = {"project": "团结小区老旧小区改造项目", "estates": [{"name": "团结小区"}]}
    assert _named(one) == "团结小区老旧小区改造项目"
    other = {"project": "测试项目", "estates": [{"name": "测试小区"}]}
    assert _named(other) == "测试小区测试项目"
    bundled = {
        "project": "团结小区片区改造",
        "estates": [{"name": "团结小区"}, {"name": "建设小区"}],
    }
    assert _named(bundled) == "建设小区团结小区片区改造"
