"""The roster import (花名册导入): xlsx and csv uploads, re-imports, bad files, and the CLI."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from api.core import db
from participation.models import Building, Household
from participation.service import roster
from tests.conftest import count_rows

HEADER = ["楼栋", "单元", "房号", "业主姓名", "手机后四位", "建筑面积"]
ROWS = [
    ["1栋", "1单元", "101", "张伟", "1234", "88.50"],
    ["1栋", "1单元", "102", "欧阳建华", "0567", "102.3"],
    ["2栋", "", "201", "李娜", "9876", "65"],
]


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, encoding: str, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # as Excel writes it
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def utf8_bom_csv(rows, header=HEADER) -> bytes:
    return csv_bytes(rows, "utf-8-sig", header)


def gbk_csv(rows, header=HEADER) -> bytes:
    return csv_bytes(rows, "gbk", header)


FORMATS = {
    "xlsx": ("roster.xlsx", xlsx_bytes),
    "csv-utf8-bom": ("roster.csv", utf8_bom_csv),
    "csv-gbk": ("roster.csv", gbk_csv),
}


def upload(client, make, estate, data: bytes, filename: str, who=None):
    who = who or make.staff("committee", estate.community_id)
    return client.post(
        f"/api/v1/estates/{estate.id}/households:import",
        headers=make.headers(who),
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def roster_of(app, estate) -> dict:
    """The estate's households keyed by (building, unit, room), as the database holds them."""
    with app.app_context():
        rows = db.session.execute(
            select(Household, Building.name)
            .join(Building, Household.building_id == Building.id)
            .where(Household.estate_id == estate.id)
        ).all()
        return {
            (building, h.unit, h.room): {
                "id": h.id,
                "name": h.owner_name,
                "phone": h.owner_phone_last4,
                "area": h.floor_area,
                "updated_at": h.updated_at,
            }
            for h, building in rows
        }


# --- uploads ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_creates_the_households_of_the_file(client, make, app, fmt):
    filename, build = FORMATS[fmt]
    estate = make.estate()
    data = build(ROWS)
    if fmt == "csv-gbk":
        with pytest.raises(UnicodeDecodeError):  # really GBK, not UTF-8 in disguise
            data.decode("utf-8")
    if fmt == "csv-utf8-bom":
        assert data.startswith(b"\xef\xbb\xbf")

    reply = upload(client, make, estate, data, filename)

    assert reply.status_code == 200, reply.json
    assert reply.json == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0, "revoked": 0}
    households = roster_of(app, estate)
    assert set(households) == {("1栋", "1单元", "101"), ("1栋", "1单元", "102"), ("2栋", "", "201")}
    assert households[("1栋", "1单元", "102")]["name"] == "欧阳建华"
    assert households[("1栋", "1单元", "102")]["phone"] == "0567"
    assert households[("1栋", "1单元", "102")]["area"] == Decimal("102.30")
    assert households[("2栋", "", "201")]["area"] == Decimal("65.00")
    assert count_rows(app, Building) == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_reimporting_the_same_file_changes_nothing(client, make, app, fmt):
    filename, build = FORMATS[fmt]
    estate = make.estate()
    clerk = make.staff("committee", estate.community_id)
    data = build(ROWS)
    assert upload(client, make, estate, data, filename, clerk).status_code == 200
    before = roster_of(app, estate)

    reply = upload(client, make, estate, data, filename, clerk)

    assert reply.status_code == 200, reply.json
    assert reply.json == {"rows": 3, "created": 0, "updated": 0, "unchanged": 3, "revoked": 0}
    assert roster_of(app, estate) == before  # ids, values and updated_at all the same
    assert count_rows(app, Household) == 3
    assert count_rows(app, Building) == 2


def test_a_changed_row_updates_its_household_and_only_it(client, make, app):
    estate = make.estate()
    clerk = make.staff("committee", estate.community_id)
    assert upload(client, make, estate, xlsx_bytes(ROWS), "roster.xlsx", clerk).status_code == 200
    before = roster_of(app, estate)

    changed = [list(row) for row in ROWS]
    changed[1][3:6] = ["欧阳建国", "4321", "103.75"]  # new owner of 1栋 1单元 102
    changed.append(["3栋", "2单元", "301", "王芳", "5555", "70.1"])  # a new household
    del changed[2]  # 2栋 201 left out of the file: kept, not deleted
    reply = upload(client, make, estate, xlsx_bytes(changed), "roster.xlsx", clerk)

    assert reply.status_code == 200, reply.json
    assert reply.json == {"rows": 3, "created": 1, "updated": 1, "unchanged": 1, "revoked": 0}
    after = roster_of(app, estate)
    updated = after[("1栋", "1单元", "102")]
    assert updated["id"] == before[("1栋", "1单元", "102")]["id"]
    assert (updated["name"], updated["phone"], updated["area"]) == (
        "欧阳建国",
        "4321",
        Decimal("103.75"),
    )
    assert updated["updated_at"] > before[("1栋", "1单元", "102")]["updated_at"]
    assert after[("1栋", "1单元", "101")] == before[("1栋", "1单元", "101")]
    assert after[("2栋", "", "201")] == before[("2栋", "", "201")]
    assert after[("3栋", "2单元", "301")]["name"] == "王芳"
    assert count_rows(app, Household) == 4


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_headers_are_refused_and_nothing_is_written(client, make, app, fmt):
    filename, build = FORMATS[fmt]
    estate = make.estate()
    header = ["楼栋", "单元", "房号", "姓名", "电话"]  # wrong names for owner, phone; no area
    data = build([row[:5] for row in ROWS], header=header)

    reply = upload(client, make, estate, data, filename)

    assert reply.status_code == 422
    error = reply.json["error"]
    assert error["code"] == "roster_headers_missing"
    assert error["details"]["missing"] == ["业主姓名", "手机后四位", "建筑面积"]
    assert "业主姓名" in error["message"]
    assert count_rows(app, Household) == 0
    assert count_rows(app, Building) == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_rows_are_all_reported_and_nothing_is_written(client, make, app, fmt):
    filename, build = FORMATS[fmt]
    estate = make.estate()
    clerk = make.staff("committee", estate.community_id)
    make.household(estate, building="9栋", unit="1单元", room="901", name="赵六", phone="1111")
    before = roster_of(app, estate)
    rows = [
        ["1栋", "1单元", "101", "张伟", "1234", "88.5"],  # row 2: good
        ["1栋", "1单元", "102", "", "1234", "88.5"],  # row 3: no name
        ["1栋", "1单元", "103", "王五", "12a4", "88.5"],  # row 4: phone not digits
        ["1栋", "1单元", "104", "赵六", "5678", "-3"],  # row 5: negative area
        ["", "1单元", "105", "孙七", "56789", "abc"],  # row 6: three faults
        ["1栋", "1单元", "101", "张伟伟", "4321", "90"],  # row 7: duplicate of row 2
        ["9栋", "1单元", "901", "赵六改", "2222", "60"],  # row 8: a good change, not applied
    ]

    reply = upload(client, make, estate, build(rows), filename, clerk)

    assert reply.status_code == 422
    error = reply.json["error"]
    assert error["code"] == "roster_invalid"
    assert "5行" in error["message"]
    assert error["details"]["bad_rows"] == [
        {"row": 3, "errors": ["业主姓名为空"]},
        {"row": 4, "errors": ["手机后四位应为4位数字"]},
        {"row": 5, "errors": ["建筑面积应为大于0的数字（平方米）"]},
        {
            "row": 6,
            "errors": ["楼栋为空", "手机后四位应为4位数字", "建筑面积应为大于0的数字（平方米）"],
        },
        {"row": 7, "errors": ["与第2行房号重复"]},
    ]
    assert roster_of(app, estate) == before
    assert count_rows(app, Building) == 1


def test_blank_lines_do_not_shift_the_reported_row_numbers(client, make, app):
    estate = make.estate()
    rows = [ROWS[0], ["", "", "", "", "", ""], ["1栋", "1单元", "103", "王五", "12", "x"]]
    reply = upload(client, make, estate, csv_bytes(rows, "utf-8-sig"), "roster.csv")
    assert reply.status_code == 422
    assert [bad["row"] for bad in reply.json["error"]["details"]["bad_rows"]] == [4]
    assert count_rows(app, Household) == 0


def test_phone_digits_typed_as_a_number_get_their_leading_zeros_back(client, make, app):
    """Excel drops the leading zero of 0123 in a number cell; the roster means 0123."""
    estate = make.estate()
    rows = [
        ["1栋", "1单元", 101, "张伟", 123, 88.5],  # an int cell
        ["1栋", "1单元", 102, "李娜", 45.0, 90],  # a float cell holding a whole number
        ["1栋", "1单元", 103, "王五", 1234, 70.25],
        ["1栋", "1单元", 104, "赵六", "0042", "66"],  # a text cell keeps its zeros
    ]
    reply = upload(client, make, estate, xlsx_bytes(rows), "roster.xlsx")

    assert reply.status_code == 200, reply.json
    households = roster_of(app, estate)
    phones = {room: h["phone"] for (_, _, room), h in households.items()}
    assert phones == {"101": "0123", "102": "0045", "103": "1234", "104": "0042"}
    assert households[("1栋", "1单元", "101")]["area"] == Decimal("88.50")


def test_phone_digits_in_csv_are_padded_and_made_ascii(client, make, app):
    """Excel saves the number 123 to CSV as `123`: it imports as the xlsx would.

    Full-width digits become the ASCII digits that a resident's claim carries."""
    estate = make.estate()
    rows = [
        ["1栋", "1单元", "101", "张伟", "123", "88.5"],
        ["1栋", "1单元", "102", "李娜", "５６７８", "88.5"],  # full-width, as an IME types them
    ]
    reply = upload(client, make, estate, csv_bytes(rows, "gbk"), "roster.csv")
    assert reply.status_code == 200, reply.json
    households = roster_of(app, estate)
    assert households[("1栋", "1单元", "101")]["phone"] == "0123"
    assert households[("1栋", "1单元", "102")]["phone"] == "5678"


def test_a_png_named_xlsx_is_refused(client, make, app):
    estate = make.estate()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    reply = upload(client, make, estate, png, "roster.xlsx")
    assert reply.status_code == 422
    assert reply.json["error"]["code"] == "file_type_unsupported"
    assert count_rows(app, Household) == 0


def test_only_the_estates_own_committee_may_import(client, make, app):
    estate = make.estate()
    data = xlsx_bytes(ROWS)
    anonymous = client.post(
        f"/api/v1/estates/{estate.id}/households:import",
        data={"file": (io.BytesIO(data), "roster.xlsx")},
        content_type="multipart/form-data",
    )
    assert anonymous.status_code == 401
    other_clerk = make.staff("committee", make.community().id)
    reply = upload(client, make, estate, data, "roster.xlsx", other_clerk)
    assert reply.status_code == 403
    assert reply.json["error"]["code"] == "out_of_scope"
    assert count_rows(app, Household) == 0


# --- the command --------------------------------------------------------------------------


def run_import(app, *args):
    return app.test_cli_runner().invoke(args=["import-households", *map(str, args)])


def test_cli_imports_a_file_and_reimporting_it_changes_nothing(app, make, tmp_path):
    estate = make.estate()
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(xlsx_bytes(ROWS))

    first = run_import(app, estate.id, path)
    assert first.exit_code == 0, first.output
    assert "rows 3: created 3, updated 0, unchanged 0, skipped 0" in first.stdout
    before = roster_of(app, estate)
    assert len(before) == 3

    again = run_import(app, estate.id, path)
    assert again.exit_code == 0, again.output
    assert "rows 3: created 0, updated 0, unchanged 3, skipped 0" in again.stdout
    assert roster_of(app, estate) == before


BAD_CSV_ROWS = [
    ["1栋", "1单元", "101", "张伟", "1234", "88.5"],  # row 2
    ["1栋", "1单元", "102", "", "1234", "88.5"],  # row 3: no name
    ["1栋", "1单元", "103", "王五", "5678", "0"],  # row 4: zero area
    ["1栋", "1单元", "104", "赵六", "5678", "75"],  # row 5
]


def test_cli_with_bad_rows_imports_nothing_and_fails(app, make, tmp_path):
    estate = make.estate()
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(BAD_CSV_ROWS, "gbk"))

    result = run_import(app, estate.id, path)

    assert result.exit_code == 1
    assert "未导入任何数据" in result.stderr
    assert "row 3: 业主姓名为空" in result.stderr
    assert "row 4: 建筑面积应为大于0的数字（平方米）" in result.stderr
    assert "created" not in result.stdout
    assert count_rows(app, Household) == 0


def test_cli_skip_bad_imports_the_good_rows_and_reports_the_rest(app, make, tmp_path):
    estate = make.estate()
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(BAD_CSV_ROWS, "gbk"))

    result = run_import(app, estate.id, path, "--skip-bad")

    assert result.exit_code == 0, result.output
    assert "skipped row 3: 业主姓名为空" in result.stderr
    assert "skipped row 4: 建筑面积应为大于0的数字（平方米）" in result.stderr
    assert "rows 2: created 2, updated 0, unchanged 0, skipped 2" in result.stdout
    assert {room for (_, _, room) in roster_of(app, estate)} == {"101", "104"}


def test_cli_progress_bar_knows_the_row_count_of_each_kind_of_file(app, make, tmp_path):
    assert roster.count_lines(xlsx_bytes(ROWS)) == 4
    assert roster.count_lines(gbk_csv(ROWS)) == 4
    assert roster.count_lines(gbk_csv(ROWS).rstrip(b"\r\n")) == 4

    # A workbook saved without its dimension (openpyxl's write-only mode): no bar, same import.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in [HEADER, *ROWS]:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    assert roster.count_lines(out.getvalue()) is None
    path = tmp_path / "unsized.xlsx"
    path.write_bytes(out.getvalue())
    estate = make.estate()
    result = run_import(app, estate.id, path)
    assert result.exit_code == 0, result.output
    assert "rows 3: created 3, updated 0, unchanged 0, skipped 0" in result.stdout


def test_cli_refuses_an_unknown_estate_and_a_missing_file(app, make, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes(ROWS))
    unknown = run_import(app, 999999, path)
    assert unknown.exit_code == 1
    assert "no estate with id 999999" in unknown.stderr

    estate = make.estate()
    missing = run_import(app, estate.id, tmp_path / "nope.xlsx")
    assert missing.exit_code == 2  # click's usage error
    assert "does not exist" in missing.stderr
    assert count_rows(app, Household) == 0


def test_cli_reports_missing_headers(app, make, tmp_path):
    estate = make.estate()
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes([["1栋", "101"]], "utf-8-sig", header=["楼栋", "房号"]))
    result = run_import(app, estate.id, path)
    assert result.exit_code == 1
    assert "表头缺少：业主姓名、手机后四位、建筑面积" in result.stderr
    assert count_rows(app, Household) == 0


# --- files that claim more than they hold (issue 9, item 3) ---------------------------------


def corner_xlsx(rows=None, corner="XFD1048576") -> bytes:
    """A 5 KB workbook whose sheet says it is A1:XFD1048576: `rows` under the header (None: no
    header either) and one cell in the far corner."""
    workbook = Workbook()
    sheet = workbook.active
    if rows is not None:
        sheet.append(HEADER)
        for row in rows:
            sheet.append(row)
    sheet[corner] = "x"
    out = io.BytesIO()
    workbook.save(out)
    data = replace_in_sheet(
        out.getvalue(), rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"'
    )
    assert len(data) < 6000
    return data


def replace_in_sheet(data: bytes, pattern: bytes, replacement: bytes) -> bytes:
    """The workbook `data` with `pattern` replaced (once) in its first sheet's XML."""
    name = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    parts[name], replaced = re.subn(pattern, replacement, parts[name], count=1)
    assert replaced == 1
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for filename, content in parts.items():
            target.writestr(filename, content)
    return out.getvalue()


def padded_xlsx(rows, padding: int) -> bytes:
    """A roster whose sheet XML carries `padding` bytes of blanks: a few KB packed, many MB
    unpacked (a zip bomb)."""
    return replace_in_sheet(xlsx_bytes(rows), rb"</sheetData>", b" " * padding + b"</sheetData>")


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_sheet_claiming_a_million_empty_rows_is_refused_at_once(client, make, app, tmp_path):
    """One cell in the far corner, nothing else: 422 within a second or two, not a worker tied
    up for 47 minutes walking a million rows of 16,384 cells. (< 10 s: a guard, not a bench.)"""
    estate = make.estate()
    data = corner_xlsx()

    reply, took = timed(lambda: upload(client, make, estate, data, "roster.xlsx"))

    assert took < 10
    assert reply.status_code == 422
    assert reply.json["error"]["code"] == "file_empty"
    assert reply.json["error"]["message"] == "文件中没有数据"
    assert count_rows(app, Household) == 0

    path = tmp_path / "corner.xlsx"
    path.write_bytes(data)
    result, took = timed(lambda: run_import(app, estate.id, path))
    assert took < 10
    assert result.exit_code == 1
    assert "error: 文件中没有数据" in result.stderr
    assert "Traceback" not in result.output
    assert count_rows(app, Household) == 0


@pytest.mark.parametrize("corner", ["XFD1048576", "F1048576"])
def test_a_roster_with_a_far_corner_cell_imports_its_rows_at_once(
    client, make, app, tmp_path, corner
):
    """The rows before the corner import; the cell, past a thousand blank rows (or past the
    first 100 columns), is not read."""
    estate = make.estate()
    data = corner_xlsx(ROWS, corner)

    reply, took = timed(lambda: upload(client, make, estate, data, "roster.xlsx"))

    assert took < 10
    assert reply.status_code == 200, reply.json
    assert reply.json == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0, "revoked": 0}

    path = tmp_path / "corner.xlsx"
    path.write_bytes(data)
    result, took = timed(lambda: run_import(app, estate.id, path))
    assert took < 10
    assert result.exit_code == 0, result.output
    assert "rows 3: created 0, updated 0, unchanged 3, skipped 0" in result.stdout
    assert count_rows(app, Household) == 3


def test_a_workbook_that_unpacks_past_the_limit_is_refused(client, make, app, tmp_path):
    estate = make.estate()
    data = padded_xlsx(ROWS, roster.MAX_UNPACKED_BYTES)
    assert len(data) < 200_000

    reply, took = timed(lambda: upload(client, make, estate, data, "roster.xlsx"))

    assert took < 10
    assert reply.status_code == 422
    assert reply.json["error"]["code"] == "roster_too_large"
    assert reply.json["error"]["message"] == "Excel 文件解压后超过40MB，请删去多余内容或分批导入"
    assert count_rows(app, Household) == 0

    path = tmp_path / "bomb.xlsx"
    path.write_bytes(data)
    result = run_import(app, estate.id, path)
    assert result.exit_code == 1
    assert "error: Excel 文件解压后超过40MB" in result.stderr
    assert count_rows(app, Household) == 0


def test_a_thousand_blank_rows_end_the_roster(client, make, app):
    estate = make.estate()
    blanks = [[""] * 6] * (roster.BLANK_RUN - 1)
    after_blanks = ["3栋", "", "301", "王芳", "5555", "70"]
    data = csv_bytes([ROWS[0], *blanks, ROWS[1], *blanks, [""] * 6, after_blanks], "utf-8-sig")

    reply = upload(client, make, estate, data, "roster.csv")

    assert reply.status_code == 200, reply.json
    assert reply.json == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "revoked": 0}
    assert {room for (_, _, room) in roster_of(app, estate)} == {"101", "102"}


# --- floor areas (issue 9, item 11) -----------------------------------------------------------


AREA_ROWS = [
    ["1栋", "1单元", "101", "张伟", "1234", "0.001"],  # row 2: rounds to 0.00
    ["1栋", "1单元", "102", "李娜", "1234", "0.005"],  # row 3: rounds (half to even) to 0.00
    ["1栋", "1单元", "103", "王五", "1234", "99999.999"],  # row 4: rounds to 100000.00
    ["1栋", "1单元", "104", "赵六", "1234", "100000"],  # row 5: the cap
    ["1栋", "1单元", "105", "孙七", "1234", "0.006"],  # row 6: 0.01, good
    ["1栋", "1单元", "106", "周八", "1234", "99999.994"],  # row 7: 99999.99, good
]
AREA_ERRORS = [
    {"row": 2, "errors": ["建筑面积应至少为0.01平方米"]},
    {"row": 3, "errors": ["建筑面积应至少为0.01平方米"]},
    {"row": 4, "errors": ["建筑面积应小于100000平方米"]},
    {"row": 5, "errors": ["建筑面积应小于100000平方米"]},
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_floor_area_that_rounds_out_of_bounds_is_a_bad_row(client, make, app, fmt):
    """0.001 was stored as 0.00 and refused by the database (a 409 naming nothing); 99999.999
    was stored as 100000.00, past the cap. Both are rows the answer names."""
    filename, build = FORMATS[fmt]
    estate = make.estate()

    reply = upload(client, make, estate, build(AREA_ROWS), filename)

    assert reply.status_code == 422
    error = reply.json["error"]
    assert error["code"] == "roster_invalid"
    assert error["message"] == "花名册有4行有误，未导入任何数据"
    assert error["details"]["bad_rows"] == AREA_ERRORS
    assert count_rows(app, Household) == 0
    assert count_rows(app, Building) == 0


def test_floor_areas_at_the_bounds_import_as_stored(client, make, app):
    estate = make.estate()
    reply = upload(client, make, estate, xlsx_bytes(AREA_ROWS[4:]), "roster.xlsx")
    assert reply.status_code == 200, reply.json
    areas = {room: h["area"] for (_, _, room), h in roster_of(app, estate).items()}
    assert areas == {"105": Decimal("0.01"), "106": Decimal("99999.99")}


def test_cli_reports_a_floor_area_that_rounds_out_of_bounds_one_line_a_row(app, make, tmp_path):
    estate = make.estate()
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(AREA_ROWS, "gbk"))

    result = run_import(app, estate.id, path)

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        "error: 花名册有4行有误，未导入任何数据",
        "  row 2: 建筑面积应至少为0.01平方米",
        "  row 3: 建筑面积应至少为0.01平方米",
        "  row 4: 建筑面积应小于100000平方米",
        "  row 5: 建筑面积应小于100000平方米",
    ]
    assert "created" not in result.stdout
    assert count_rows(app, Household) == 0
