"""The house style of an Excel workbook (openpyxl), for every export: a title row merged over
the columns, Chinese headers frozen below it, columns wide enough to read, named sheets, and
text that is never a formula.

The builders take rows already read and cleared for the caller and return the file's bytes;
they read no database and decide nothing about who may see what.
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from api.core.clock import LOCAL

_THIN = Side(style="thin", color="999999")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def add_sheet(book: Workbook, name: str, title: str, columns, rows, formats=None) -> None:
    """A sheet: the title in row 1 (merged over the columns), the headers in row 2, frozen
    below, then `rows`. `columns` is [(header, width)]; `formats` {column index: format}.
    Every cell is a value, never a formula, whatever its text begins with."""
    sheet = book.create_sheet(name)
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.row_dimensions[1].height = 36
    sheet.append([header for header, _ in columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = Border(top=_THIN, bottom=_THIN, left=_THIN, right=_THIN)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        sheet.append(list(row))
    # Text is text: a name or title that begins with "=" (a roster from someone else's
    # spreadsheet, a clerk's title) is not a formula for Excel to run (formula injection).
    for cells in sheet.iter_rows():
        for cell in cells:
            if cell.data_type == "f":
                cell.data_type = "s"
    for index, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for index, number_format in (formats or {}).items():
        for (cell,) in sheet.iter_rows(min_row=3, min_col=index, max_col=index):
            cell.number_format = number_format
    sheet.freeze_panes = "A3"


def workbook_bytes(book: Workbook) -> bytes:
    """The workbook's file, without the empty sheet a new workbook starts with."""
    del book[book.sheetnames[0]]
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def local_minute(when: datetime | None) -> str:
    """A time as people read it in a sheet: local, to the minute; empty for none."""
    return when.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") if when else ""
