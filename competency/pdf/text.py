"""Mixed Chinese/Latin text: the CJK font has no Latin glyphs, so each run gets the font that has them."""

from __future__ import annotations

from functools import lru_cache
from itertools import groupby
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_FILE = Path(__file__).resolve().parent.parent / "fonts" / "DroidSansFallbackFull.ttf"
CJK_FONT = "DroidSansFallback"
LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"


@lru_cache(maxsize=1)
def register_fonts() -> frozenset[int]:
    """Register the CJK font once per process; returns the code points it covers."""
    font = TTFont(CJK_FONT, str(FONT_FILE))
    pdfmetrics.registerFont(font)
    return frozenset(font.face.charToGlyph)


def _is_latin(ch: str) -> bool:
    """Characters the PDF base font can encode (WinAnsi = cp1252)."""
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def runs(text: str) -> list[tuple[bool, str]]:
    """Split text into (latin?, chunk) runs."""
    return [(latin, "".join(chunk)) for latin, chunk in groupby(text, key=_is_latin)]


def _font(latin: bool, bold: bool) -> str:
    if latin:
        return LATIN_BOLD if bold else LATIN_FONT
    return CJK_FONT


def width(text: str, size: float, bold: bool = False) -> float:
    register_fonts()
    return sum(pdfmetrics.stringWidth(chunk, _font(latin, bold), size) for latin, chunk in runs(text))


def draw(
    canvas: Canvas, x: float, y: float, text: str, size: float, bold: bool = False, align: str = "left"
) -> float:
    """Draw mixed text at (x, y); ``align`` is left, centre or right. Returns the drawn width."""
    covered = register_fonts()
    total = width(text, size, bold)
    if align == "centre":
        x -= total / 2
    elif align == "right":
        x -= total
    for latin, chunk in runs(text):
        if not latin:
            # A glyph the font lacks would print as an empty box; a visible stand-in is more honest.
            chunk = "".join(ch if ord(ch) in covered else "？" for ch in chunk)
        font = _font(latin, bold)
        canvas.setFont(font, size)
        canvas.drawString(x, y, chunk)
        x += pdfmetrics.stringWidth(chunk, font, size)
    return total


def fit(text: str, size: float, max_width: float, bold: bool = False, minimum: float = 7) -> float:
    """The largest font size ≤ ``size`` at which ``text`` fits ``max_width``."""
    while size > minimum and width(text, size, bold) > max_width:
        size -= 0.5
    return size
