"""An application (申报表) as one PDF: every form field in order, then the list of attachments.

Long answers wrap by measured width (Chinese has no spaces to break at, so lines break at any
character that would overflow) and flow onto as many A4 pages as they need.
"""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from competency.models import PilotApplication
from competency.pdf import text

BRAND = colors.HexColor("#0b5cad")
INK = colors.HexColor("#1b1f24")
MUTED = colors.HexColor("#4a525c")
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Chinese labels are fixed here: the application is a Chinese administrative document whatever the
# viewer's interface language.
LABELS = {
    "unit_name": "单位名称",
    "unit_address": "通讯地址",
    "legal_representative": "法定代表人",
    "institution_type": "单位类型",
    "industries": "重点领域",
    "development_plan": "发展定位与建设规划",
    "base_site": "场地",
    "base_equipment": "设备",
    "base_textbooks": "数字化教材",
    "base_videos": "视频资料",
    "base_courses": "在线课程",
    "projects": "产教融合 / 校企合作项目",
    "guarantee_management": "管理体制",
    "guarantee_operation": "运营机制",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "contact_email": "电子邮箱",
}
SECTIONS = (
    (
        "一、单位基本信息",
        ("unit_name", "unit_address", "legal_representative", "institution_type", "industries"),
    ),
    ("二、发展定位", ("development_plan",)),
    ("三、基础条件", ("base_site", "base_equipment", "base_textbooks", "base_videos", "base_courses")),
    ("四、项目经验", ("projects",)),
    ("五、运行保障", ("guarantee_management", "guarantee_operation")),
    ("六、联系人", ("contact_name", "contact_phone", "contact_email")),
)
TYPE_ZH = {
    "secondary_vocational": "中职学校",
    "higher_vocational": "高职院校",
    "technician_college": "技工院校",
    "applied_university": "应用型本科",
    "enterprise": "企业",
}
KIND_ZH = {"stamped_scan": "盖章扫描件", "supporting": "佐证材料"}


def wrap(value: str, size: float, max_width: float) -> list[str]:
    lines: list[str] = []
    for paragraph in (value or "").splitlines() or [""]:
        line = ""
        for ch in paragraph:
            if text.width(line + ch, size) > max_width:
                lines.append(line)
                line = ch
            else:
                line += ch
        lines.append(line)
    return lines


class _Writer:
    def __init__(self, canvas: Canvas, title: str):
        self.canvas = canvas
        self.title = title
        self.width, self.height = A4
        self.left, self.right = 20 * mm, self.width - 20 * mm
        self.page = 0
        self._new_page()

    def _new_page(self) -> None:
        if self.page:
            self.canvas.showPage()
        self.page += 1
        self.canvas.setFillColor(MUTED)
        text.draw(self.canvas, self.left, self.height - 12 * mm, self.title, 8)
        text.draw(self.canvas, self.right, 10 * mm, f"第 {self.page} 页", 8, align="right")
        self.y = self.height - 22 * mm

    def need(self, space: float) -> None:
        if self.y - space < 18 * mm:
            self._new_page()

    def heading(self, value: str, size: float = 13) -> None:
        self.need(12 * mm)
        self.y -= 8 * mm
        self.canvas.setFillColor(BRAND)
        text.draw(self.canvas, self.left, self.y, value, size, bold=True)

    def field(self, label: str, value: str) -> None:
        self.need(10 * mm)
        self.y -= 6.5 * mm
        self.canvas.setFillColor(MUTED)
        text.draw(self.canvas, self.left, self.y, label, 9.5, bold=True)
        self.canvas.setFillColor(INK)
        for line in wrap(value or "（未填写）", 10, self.right - self.left - 4 * mm):
            self.need(6 * mm)
            self.y -= 5.2 * mm
            text.draw(self.canvas, self.left + 4 * mm, self.y, line, 10)


def render_application(application: PilotApplication, industry_names: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, pageCompression=1)
    form = application.form or {}
    title = f"试点单位申报表 · {application.call.title}"
    canvas.setTitle(f"{title} · {form.get('unit_name', '')}")
    canvas.setAuthor("Competency")
    writer = _Writer(canvas, title)
    canvas.setFillColor(BRAND)
    writer.y -= 6 * mm
    text.draw(canvas, writer.width / 2, writer.y, "试点单位申报表", 20, bold=True, align="centre")
    writer.y -= 8 * mm
    canvas.setFillColor(MUTED)
    submitted = (
        application.submitted_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") + "（北京时间）"
        if application.submitted_at
        else "未提交（草稿）"
    )
    text.draw(
        canvas,
        writer.width / 2,
        writer.y,
        f"申报编号 {application.id} · 提交时间 {submitted}",
        9.5,
        align="centre",
    )
    for heading, keys in SECTIONS:
        writer.heading(heading)
        for key in keys:
            value = form.get(key)
            if key == "institution_type":
                value = TYPE_ZH.get(value or "", value or "")
            elif key == "industries":
                value = "、".join(industry_names.get(c, c) for c in value or [])
            elif key == "projects":
                rows = value or []
                if not rows:
                    writer.field(LABELS[key], "")
                for n, row in enumerate(rows, start=1):
                    writer.field(f"项目 {n}：合作企业", row.get("partner", ""))
                    writer.field(f"项目 {n}：合作期限", row.get("period", ""))
                    writer.field(f"项目 {n}：主要成果", row.get("outcomes", ""))
                continue
            writer.field(LABELS[key], value or "")
    writer.heading("附件清单")
    if not application.attachments:
        writer.field("附件", "无")
    for n, attachment in enumerate(application.attachments, start=1):
        writer.field(
            f"附件 {n}（{KIND_ZH.get(attachment.kind, attachment.kind)}，{attachment.file_type.upper()}）",
            f"{attachment.filename} · {attachment.size:,} 字节 · SHA-256 {attachment.sha256}",
        )
    canvas.showPage()
    canvas.save()
    return buf.getvalue()
