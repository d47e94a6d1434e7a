"""What the browser tests do alike on the console's pages: pick in an Element Plus select, type
a number, confirm a message box, write a plan item, and the photo a form or a plan carries."""

from __future__ import annotations

import struct
import zlib


def png() -> bytes:
    """A small real PNG (the API reads a file's type from its bytes): the photo of a signed
    paper form, a plan's drawing."""
    width = height = 8
    raw = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def choose(page, select: str, option: str) -> None:
    """Pick `option` in the Element Plus select `select` (a locator string)."""
    page.locator(select).click()
    # The dropdown of a select chosen a moment before may still be fading out: the one just
    # opened is the newest (Element Plus appends each select's popper to the body when it
    # first opens).
    page.get_by_role("option", name=option, exact=True).last.click()


def number(page, where: str, value: str) -> None:
    """Type `value` into the number input `where` (its wrapper) and leave it."""
    field = page.locator(f"{where} input")
    field.fill(value)
    field.press("Tab")


def confirm(page, button: str) -> None:
    """Answer the open message box with `button`."""
    page.locator(".el-message-box").get_by_role("button", name=button).click()


def plan_item(page, row: int, category: str, description: str, cost: str) -> None:
    """Fill row `row` of the plan editor's items."""
    editor = page.locator("[data-test=plan-editor]")
    choose(page, f"[data-test=plan-editor] [data-test=pe-item-category] >> nth={row}", category)
    editor.locator("input[data-test=pe-item-description]").nth(row).fill(description)
    cost_input = editor.locator("[data-test=pe-item-cost] input").nth(row)
    cost_input.fill(cost)
    cost_input.press("Tab")
