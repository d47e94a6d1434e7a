"""The CJK font of the printable sheets: WenQuanYi Zen Hei (文泉驿正黑), from Debian's
`fonts-wqy-zenhei` package (README, "The console": `apt-get install fonts-wqy-zenhei`).

It is a TrueType collection, which reportlab embeds as a subset of the glyphs used, so the PDF
prints the same on any machine. (Noto Sans CJK, the other common choice, has PostScript (CFF)
outlines, which reportlab cannot embed.) The font is looked up when a sheet is made, never at
import time.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from api.core import ServiceUnavailable

NAME = "WenQuanYiZenHei"
PACKAGE = "fonts-wqy-zenhei"
# Where Debian's package puts it (and the older path of that package).
CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc"),
)


class FontMissing(ServiceUnavailable):
    code = "font_missing"
    message = f"生成公示所需的中文字体未安装（{PACKAGE}），请联系系统管理员"


def font_path() -> Path | None:
    """The installed font file, or None."""
    return next((path for path in CANDIDATES if path.is_file()), None)


def cjk_font() -> str:
    """The name under which the CJK font is registered with reportlab (registered on first
    use); 503 `font_missing` when the package is not installed."""
    if NAME in pdfmetrics.getRegisteredFontNames():
        return NAME
    path = font_path()
    if path is None:
        raise FontMissing()
    pdfmetrics.registerFont(TTFont(NAME, str(path), subfontIndex=0))
    return NAME
