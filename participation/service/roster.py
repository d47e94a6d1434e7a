"""The household roster import (花名册导入): an xlsx or csv file with Chinese headers.

Columns: 楼栋, 单元, 房号, 业主姓名, 手机后四位, 建筑面积. A file is checked whole first: with any
bad row nothing is written (unless the caller asks to skip bad rows), and every bad row is reported
with its number and reasons (`bad_rows`), each fault also one a line with its column
(`bad_cells`). Re-importing the same file changes nothing; a changed row updates its household;
households missing from the file are left alone (ballots and claims refer to them).
A row that changes its household's owner (name or phone digits; not its area alone) revokes the
claims verified against the previous owner (`participation.service.membership`).

A file cannot make the import work for long whatever it claims: an xlsx is read by its rows, not
by the size its sheet states; only the first `MAX_COLUMNS` columns are read; reading stops at
`BLANK_RUN` blank rows in a row (nothing after them is read) and refuses a workbook that unpacks
to more than `MAX_UNPACKED_BYTES` (a zip bomb) or a roster of more than `MAX_ROWS` rows.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from openpyxl import load_workbook
from sqlalchemy import insert, select, update

from api.core import Conflict, InvalidInput, db, utcnow
from participation.models import Building, Estate, Household
from participation.service import membership

HEADERS = {
    "楼栋": "building",
    "单元": "unit",
    "房号": "room",
    "业主姓名": "owner_name",
    "手机后四位": "owner_phone_last4",
    "建筑面积": "floor_area",
}
REQUIRED = ("building", "room", "owner_name", "owner_phone_last4", "floor_area")
MAX_ROWS = 50_000
MAX_AREA = Decimal("100000")  # square metres, exclusive
AREA_PLACES = Decimal("0.01")
# The headers must stand within the first 100 columns; a sheet may claim 16,384.
MAX_COLUMNS = 100
# This many blank rows in a row end the roster: a sheet may claim (or hold) a million of them.
BLANK_RUN = 1000
# A 50,000-row roster unpacks to about 16 MB (openpyxl's inline strings; Excel's are smaller).
MAX_UNPACKED_BYTES = 40 * 1024 * 1024
EXCEL_MAX_ROW = 1_048_576


class RosterError(InvalidInput):
    code = "roster_invalid"
    message = "花名册有误，未导入任何数据"


@dataclass
class RosterRow:
    number: int  # the row's number as the spreadsheet shows it (header is row 1)
    building: str
    unit: str
    room: str
    owner_name: str
    owner_phone_last4: str
    floor_area: Decimal

    @property
    def key(self):
        return (self.building, self.unit, self.room)


@dataclass
class ParsedRoster:
    rows: list[RosterRow] = field(default_factory=list)
    bad: list[dict] = field(default_factory=list)
    # The same faults one a line, each with its column's header (the console's table).
    cells: list[dict] = field(default_factory=list)


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    revoked: int = 0  # verified claims the changed owners revoked
    skipped: list[dict] = field(default_factory=list)


# --- reading ------------------------------------------------------------------------------


def _check_unpacked_size(data: bytes) -> None:
    """Refuse a workbook whose parts unpack to more than `MAX_UNPACKED_BYTES`. zipfile reads a
    part no further than the size its header states, so the stated sizes bound the work."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RosterError("无法读取该 Excel 文件", code="file_unreadable") from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise RosterError(
            f"Excel 文件解压后超过{MAX_UNPACKED_BYTES // (1024 * 1024)}MB，请删去多余内容或分批导入",
            code="roster_too_large",
        )


def _read_xlsx(data: bytes):
    _check_unpacked_size(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise RosterError(
            "无法读取该 Excel 文件，请另存为 .xlsx 后重试", code="file_unreadable"
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        # The sheet's stated dimension (it may say A1:XFD1048576 of a 5 KB file) is not
        # trusted: rows are read as they come, each at most MAX_COLUMNS wide, and rows that
        # are missing cost nothing.
        sheet.reset_dimensions()
        for number, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), 1):
            if number > EXCEL_MAX_ROW:
                break
            yield row
    except Exception as exc:  # a damaged sheet shows only when its rows are read
        raise RosterError(
            "无法读取该 Excel 文件，请另存为 .xlsx 后重试", code="file_unreadable"
        ) from exc
    finally:
        workbook.close()


def _read_csv(data: bytes):
    for encoding in ("utf-8-sig", "gb18030"):  # Excel on Chinese Windows saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RosterError(
            "无法识别文件编码，请保存为 UTF-8 的 CSV 或 .xlsx", code="file_unreadable"
        )
    if "\x00" in text:
        raise RosterError("文件不是 CSV 或 Excel 表格", code="file_type_unsupported")
    try:
        for row in csv.reader(io.StringIO(text)):
            yield row[:MAX_COLUMNS]
    except csv.Error as exc:  # e.g. a cell over the csv module's field size limit
        raise RosterError("无法读取该 CSV 文件，请检查内容后重试", code="file_unreadable") from exc


def count_lines(data: bytes) -> int | None:
    """How many lines the file holds (header included), for a progress bar; None if unknown.

    An xlsx says so in its sheet's dimension when the program that saved it wrote one (Excel and
    WPS do); a csv is counted by its line breaks.
    """
    if data[:4] != b"PK\x03\x04":
        return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        _check_unpacked_size(data)
        workbook = load_workbook(io.BytesIO(data), read_only=True)
    except Exception:  # the import itself reports a damaged or oversized workbook
        return None
    try:
        return workbook.worksheets[0].max_row
    except Exception:
        return None
    finally:
        workbook.close()


def read_table(data: bytes, filename: str = ""):
    """Rows of cells from an xlsx or csv file, recognised by content rather than by name."""
    if not data:
        raise RosterError("文件为空", code="file_empty")
    if data[:4] == b"PK\x03\x04":
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise RosterError("无法读取该 Excel 文件", code="file_unreadable")
        return _read_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise RosterError("不支持旧版 .xls 文件，请另存为 .xlsx", code="file_type_unsupported")
    binary_magic = (b"\x89PNG", b"\xff\xd8\xff", b"%PDF", b"GIF8", b"\x1f\x8b")
    if data.startswith(binary_magic) or b"\x00" in data[:4096]:
        raise RosterError("文件不是 CSV 或 Excel 表格", code="file_type_unsupported")
    return _read_csv(data)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _phone(value) -> str:
    # Excel drops leading zeros of a number-formatted cell: 0123 arrives as 123 in an xlsx
    # (a number) and in the CSV that Excel saves (plain digits), so fewer than 4 digits are padded.
    # NFKC turns the full-width digits of a Chinese input method (１２３４) into ASCII ones,
    # the digits a resident's claim carries.
    text = unicodedata.normalize("NFKC", _cell_text(value))
    return text.zfill(4) if text.isdigit() and len(text) < 4 else text


def _check_row(number: int, cells: dict) -> tuple[RosterRow | None, list[tuple[str, str]]]:
    """The row, or its faults: (the column's header, the reason) each."""
    errors: list[tuple[str, str]] = []
    building = _cell_text(cells.get("building"))
    unit = _cell_text(cells.get("unit"))
    room = _cell_text(cells.get("room"))
    name = _cell_text(cells.get("owner_name"))
    phone = _phone(cells.get("owner_phone_last4"))
    raw_area = _cell_text(cells.get("floor_area"))
    if not building:
        errors.append(("楼栋", "楼栋为空"))
    elif len(building) > 50:
        errors.append(("楼栋", "楼栋超过50个字"))
    if len(unit) > 20:
        errors.append(("单元", "单元超过20个字"))
    if not room:
        errors.append(("房号", "房号为空"))
    elif len(room) > 20:
        errors.append(("房号", "房号超过20个字"))
    if not name:
        errors.append(("业主姓名", "业主姓名为空"))
    elif len(name) > 100:
        errors.append(("业主姓名", "业主姓名超过100个字"))
    if not (len(phone) == 4 and phone.isascii() and phone.isdigit()):
        errors.append(("手机后四位", "手机后四位应为4位数字"))
    area, area_error = _area(raw_area)
    if area_error:
        errors.append(("建筑面积", area_error))
    if errors:
        return None, errors
    return RosterRow(number, building, unit, room, name, phone, area), []


def _area(raw: str) -> tuple[Decimal | None, str | None]:
    """The floor area in square metres as stored (two places), or the reason it is refused.
    The bounds are checked on the stored value: 0.001 would be stored as 0.00, 99999.999 as
    100000.00."""
    try:
        area = Decimal(raw)
    except InvalidOperation:
        area = None
    if area is None or not area.is_finite() or area <= 0:
        return None, "建筑面积应为大于0的数字（平方米）"
    if area < MAX_AREA:  # quantize only a number of sane size
        area = area.quantize(AREA_PLACES, rounding=ROUND_HALF_EVEN)
    if area >= MAX_AREA:
        return None, f"建筑面积应小于{MAX_AREA}平方米"
    if area <= 0:
        return None, f"建筑面积应至少为{AREA_PLACES}平方米"
    return area, None


def roster_area(raw: str) -> tuple[Decimal | None, str | None]:
    """The floor area as the roster stores it, or the reason it is refused (the import's rule,
    for the single-household edit too)."""
    return _area(raw)


def _blank(cells) -> bool:
    return not any(_cell_text(c) for c in cells)


def parse(data: bytes, filename: str = "", progress=None) -> ParsedRoster:
    """Check every row of the file; the good rows and the bad ones with their reasons."""
    table = iter(read_table(data, filename))
    header = None
    header_number = 0
    for header_number, cells in enumerate(table, start=1):  # noqa: B007 (used below)
        if not _blank(cells):
            header = [_cell_text(c) for c in cells]
            break
        if header_number >= BLANK_RUN:
            break
    if header is None:
        raise RosterError("文件中没有数据", code="file_empty")
    columns = {}
    for index, title in enumerate(header):
        key = HEADERS.get(title.replace(" ", ""))
        if key:
            columns[key] = index
    missing = [title for title, key in HEADERS.items() if key not in columns and key in REQUIRED]
    if missing:
        raise RosterError(
            f"表头缺少：{'、'.join(missing)}",
            code="roster_headers_missing",
            details={"missing": missing, "expected": list(HEADERS)},
        )

    parsed = ParsedRoster()
    seen: dict[tuple, int] = {}
    blank_run = unreported = 0
    for number, cells in enumerate(table, start=header_number + 1):
        unreported += 1
        if progress and unreported >= 1000:
            progress(unreported)
            unreported = 0
        # Only the roster's own columns count: a row is blank when they are.
        values = {key: cells[i] if i < len(cells) else None for key, i in columns.items()}
        if _blank(values.values()):
            blank_run += 1
            if blank_run >= BLANK_RUN:
                break
            continue
        blank_run = 0
        if len(parsed.rows) + len(parsed.bad) >= MAX_ROWS:
            raise RosterError(f"一次最多导入{MAX_ROWS}行", code="roster_too_large")
        row, errors = _check_row(number, values)
        if row is not None and row.key in seen:
            errors = [("房号", f"与第{seen[row.key]}行房号重复")]
            row = None
        if row is None:
            parsed.bad.append({"row": number, "errors": [reason for _, reason in errors]})
            parsed.cells.extend(
                {"row": number, "column": column, "reason": reason} for column, reason in errors
            )
            continue
        seen[row.key] = number
        parsed.rows.append(row)
    if progress and unreported:
        progress(unreported)
    return parsed


# --- writing ------------------------------------------------------------------------------


def apply(estate: Estate, rows: list[RosterRow]) -> ImportResult:
    """Upsert the rows into the estate's roster in a few bulk statements (flushes, no commit);
    where a row changes its household's owner, revoke the claims made against the previous one."""
    result = ImportResult(rows=len(rows))
    buildings = dict(
        db.session.execute(
            select(Building.name, Building.id).where(Building.estate_id == estate.id)
        ).all()
    )
    new_buildings = sorted({r.building for r in rows} - set(buildings))
    if new_buildings:
        db.session.execute(
            insert(Building), [{"estate_id": estate.id, "name": n} for n in new_buildings]
        )
        buildings = dict(
            db.session.execute(
                select(Building.name, Building.id).where(Building.estate_id == estate.id)
            ).all()
        )
    existing = {
        (b, u, r): (hid, name, phone, area)
        for hid, b, u, r, name, phone, area in db.session.execute(
            select(
                Household.id,
                Building.name,
                Household.unit,
                Household.room,
                Household.owner_name,
                Household.owner_phone_last4,
                Household.floor_area,
            )
            .join(Building, Household.building_id == Building.id)
            .where(Household.estate_id == estate.id)
        )
    }
    now = utcnow()
    inserts, updates = [], []
    owners: dict[int, tuple[str, str]] = {}  # household -> its new owner, where the owner changed
    for row in rows:
        current = existing.get(row.key)
        values = {
            "owner_name": row.owner_name,
            "owner_phone_last4": row.owner_phone_last4,
            "floor_area": row.floor_area,
            "updated_at": now,
        }
        if current is None:
            inserts.append(
                {
                    "estate_id": estate.id,
                    "building_id": buildings[row.building],
                    "unit": row.unit,
                    "room": row.room,
                    "created_at": now,
                    **values,
                }
            )
        elif (current[1], current[2], Decimal(current[3])) != (
            row.owner_name,
            row.owner_phone_last4,
            row.floor_area,
        ):
            updates.append({"id": current[0], **values})
            if (current[1], current[2]) != (row.owner_name, row.owner_phone_last4):
                owners[current[0]] = (row.owner_name, row.owner_phone_last4)
        else:
            result.unchanged += 1
    if inserts:
        db.session.execute(insert(Household), inserts)
    if updates:
        db.session.execute(update(Household), updates)
    result.created, result.updated = len(inserts), len(updates)
    db.session.flush()
    result.revoked = membership.revoke_superseded(estate, owners)
    return result


def import_roster(estate: Estate, data: bytes, filename: str = "", skip_bad=False, progress=None):
    """Check and import a roster file; with bad rows, nothing is written unless `skip_bad`."""
    parsed = parse(data, filename, progress)
    if parsed.bad and not skip_bad:
        raise RosterError(
            f"花名册有{len(parsed.bad)}行有误，未导入任何数据",
            details={"bad_rows": parsed.bad, "bad_cells": parsed.cells},
        )
    result = apply(estate, parsed.rows)
    result.skipped = parsed.bad
    return result


# --- one household ------------------------------------------------------------------------


OWNER_FIELDS = ("owner_name", "owner_phone_last4")


def edit_household(household: Household, changes: dict) -> int:
    """Correct one roster row (flushes, no commit); how many verified claims it revoked.

    The address stays in the household's estate: a building named anew is added to it, and an
    address another household holds is a 409 `household_address_taken`. A new owner name or
    phone digits need `owner_change`: `correction` keeps the verified members (the roster was
    mistyped; they were checked against the person, not the typo), `new_owner` revokes the
    owner and family claims that do not name the new owner, as a re-import does
    (`membership.revoke_superseded`: each resident is told, and leaves the electorates still
    open). The electorate of a consultation already open keeps the floor area and the owner
    it froze at the opening; the edit counts from the next one.
    """
    estate = household.estate
    building = household.building
    if "building" in changes and changes["building"] != building.name:
        building = db.session.scalar(
            select(Building).where(
                Building.estate_id == estate.id, Building.name == changes["building"]
            )
        )
        if building is None:
            building = Building(estate_id=estate.id, name=changes["building"])
            db.session.add(building)
            db.session.flush()
    unit = changes.get("unit", household.unit)
    room = changes.get("room", household.room)
    if (building.id, unit, room) != (household.building_id, household.unit, household.room):
        taken = db.session.scalar(
            select(Household.id).where(
                Household.building_id == building.id,
                Household.unit == unit,
                Household.room == room,
                Household.id != household.id,
            )
        )
        if taken is not None:
            raise Conflict(
                "该小区已有同一楼栋、单元、房号的住户",
                code="household_address_taken",
                details={"household_id": taken},
            )
    owner = (
        changes.get("owner_name", household.owner_name),
        changes.get("owner_phone_last4", household.owner_phone_last4),
    )
    owner_changed = owner != (household.owner_name, household.owner_phone_last4)
    if owner_changed and "owner_change" not in changes:
        raise InvalidInput(
            "修改业主姓名或手机后四位时，请说明是更正录入错误还是业主变更",
            code="owner_change_required",
            details={"fields": {"owner_change": ["须为 correction 或 new_owner"]}},
        )
    household.building_id = building.id
    household.building = building
    household.unit, household.room = unit, room
    household.owner_name, household.owner_phone_last4 = owner
    if "floor_area" in changes:
        household.floor_area = changes["floor_area"]
    household.updated_at = utcnow()
    db.session.flush()
    if owner_changed and changes["owner_change"] == "new_owner":
        return membership.revoke_superseded(estate, {household.id: owner})
    return 0
