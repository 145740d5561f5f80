"""The certificate PDF: bilingual, one A4 page, levels per dimension and a QR code to the verification page."""

from __future__ import annotations

import io

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from competency.graph import level_scale
from competency.localtime import DEFAULT_ZONE, local_date
from competency.models import Certificate
from competency.pdf import text
from competency.services.certificates import format_code

BRAND = colors.HexColor("#0b5cad")
INK = colors.HexColor("#1b1f24")
MUTED = colors.HexColor("#4a525c")


def level_label(scale_name: str, code: str | None) -> str:
    """ "L4 专家 Expert" (with the 初级/中级/高级 band when the scale has one)."""
    if not code:
        return "—"
    try:
        scale = level_scale(scale_name)
        level = scale[code]
    except KeyError:
        return code
    band = scale.band(code)
    label = f"{code} {level.name_zh} {level.name_en}"
    return f"{label}（{band}）" if band else label


def _qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    """Draw the QR code as vector squares, so it stays sharp at any print size."""
    qr = segno.make(url, error="m")
    matrix = [list(row) for row in qr.matrix]
    border = 2
    n = len(matrix) + 2 * border
    cell = size / n
    canvas.setFillColor(colors.white)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(colors.black)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                canvas.rect(
                    x + (c + border) * cell, y + size - (r + border + 1) * cell, cell, cell, stroke=0, fill=1
                )


# Paper carries the platform's civil date (Beijing time), as the web and verification pages do: a
# certificate issued at 23:30 UTC is dated the next day in China.
PAPER_ZONE = DEFAULT_ZONE


def _date(value) -> str:
    return local_date(value, PAPER_ZONE)


def render_certificate(cert: Certificate, verify_url: str) -> bytes:
    """The certificate as PDF bytes; ``verify_url`` is the public page the QR code points to."""
    buf = io.BytesIO()
    width, height = A4
    canvas = Canvas(buf, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"数字素养等级证书 {cert.code}")
    canvas.setAuthor("Competency")
    canvas.setSubject(f"{cert.assessment_title_zh} / {cert.assessment_title_en}")

    canvas.setStrokeColor(BRAND)
    canvas.setLineWidth(3)
    canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.setLineWidth(0.8)
    canvas.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)

    centre = width / 2
    canvas.setFillColor(BRAND)
    text.draw(canvas, centre, height - 45 * mm, "数字素养等级证书", 30, align="centre")
    canvas.setFillColor(MUTED)
    text.draw(canvas, centre, height - 55 * mm, "Digital Competency Certificate", 14, align="centre")

    canvas.setFillColor(INK)
    y = height - 75 * mm
    text.draw(canvas, centre, y, "兹证明 This is to certify that", 11, align="centre")
    y -= 13 * mm
    size = text.fit(cert.holder_name, 24, width - 60 * mm, bold=True)
    text.draw(canvas, centre, y, cert.holder_name, size, bold=True, align="centre")
    if cert.institution_name:
        y -= 9 * mm
        text.draw(canvas, centre, y, cert.institution_name, 12, align="centre")
    y -= 12 * mm
    text.draw(canvas, centre, y, "在以下评价中达到 reached in the assessment", 11, align="centre")
    y -= 9 * mm
    size = text.fit(cert.assessment_title_zh, 15, width - 50 * mm, bold=True)
    text.draw(canvas, centre, y, cert.assessment_title_zh, size, bold=True, align="centre")
    y -= 7 * mm
    size = text.fit(cert.assessment_title_en, 11, width - 50 * mm)
    text.draw(canvas, centre, y, cert.assessment_title_en, size, align="centre")

    y -= 14 * mm
    canvas.setFillColor(BRAND)
    text.draw(canvas, centre, y, "总体等级 Overall level: " + level_label(cert.scale, cert.overall_level), 16, bold=True, align="centre")  # fmt: skip
    certified = cert.certified or {}
    found, span = certified.get("overall_class"), certified.get("overall_range")
    if found and span:
        y -= 7 * mm
        line = (
            f"认证类别 Certified class: {found['code']} {found['name_zh']} {found['name_en']} · "
            f"最可能介于 most likely {span[0]}–{span[1]}"
        )
        text.draw(canvas, centre, y, line, text.fit(line, 10, width - 50 * mm), align="centre")

    # Levels per dimension as a two-column table.
    canvas.setFillColor(INK)
    left, right = 30 * mm, width - 30 * mm
    y -= 13 * mm
    text.draw(canvas, left, y, "维度 Dimension", 10, bold=True)
    text.draw(canvas, right, y, "等级 Level", 10, bold=True, align="right")
    canvas.setStrokeColor(MUTED)
    canvas.setLineWidth(0.5)
    canvas.line(left, y - 2.5 * mm, right, y - 2.5 * mm)
    for dim in cert.levels:
        y -= 8 * mm
        name = f"{dim['code']} {dim['name_zh']} {dim['name_en']}".strip()
        text.draw(canvas, left, y, name, text.fit(name, 10, right - left - 60 * mm))
        label = level_label(cert.scale, dim["level"])
        if dim.get("class") and len(dim["class"].get("levels", [])) > 1:
            label = f"{dim['class']['code']} {dim['class']['name_zh']} · {label}"
        text.draw(canvas, right, y, label, text.fit(label, 10, 58 * mm), align="right")

    # Dates, code and QR code at the foot.
    foot = 30 * mm
    text.draw(canvas, left, foot + 32 * mm, f"发证日期 Issued: {_date(cert.issued_at)}", 11)
    text.draw(canvas, left, foot + 24 * mm, f"有效期至 Valid until: {_date(cert.expires_at)}", 11)
    canvas.setFillColor(MUTED)
    text.draw(canvas, left, foot + 19.5 * mm, "日期为北京时间 Dates in Beijing time (UTC+8)", 8.5)
    canvas.setFillColor(INK)
    text.draw(canvas, left, foot + 13 * mm, "证书编号 Certificate code:", 11)
    text.draw(canvas, left, foot + 6.5 * mm, format_code(cert.code), 13, bold=True)
    canvas.setFillColor(MUTED)
    text.draw(canvas, left, foot, "扫码或访问以下网址验证 Scan or visit to verify:", 8.5)
    text.draw(canvas, left, foot - 5 * mm, verify_url, text.fit(verify_url, 8.5, 110 * mm))
    qr_size = 38 * mm
    _qr(canvas, verify_url, right - qr_size, foot - 6 * mm, qr_size)

    if cert.revoked_at is not None:
        canvas.saveState()
        canvas.setFillColor(colors.Color(0.64, 0.09, 0.1, alpha=0.35))
        canvas.translate(centre, height / 2)
        canvas.rotate(30)
        text.draw(canvas, 0, 0, "已撤销 REVOKED", 60, bold=True, align="centre")
        canvas.restoreState()

    canvas.showPage()
    canvas.save()
    return buf.getvalue()
