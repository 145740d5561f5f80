"""PDF documents (ReportLab): the graded certificate with an embedded CJK font and a QR code."""

from competency.pdf.certificate import render_certificate
from competency.pdf.text import CJK_FONT, FONT_FILE

__all__ = ["CJK_FONT", "FONT_FILE", "render_certificate"]
