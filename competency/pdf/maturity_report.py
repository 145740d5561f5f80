"""The diagnosis report as PDF: A4 pages in Chinese (with English names beside), the radar chart and
its numbers, strengths and gaps, group differences, recommendations one level up and the action list."""

from __future__ import annotations

import io
import math
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from competency.pdf import text

BRAND = colors.HexColor("#0b5cad")
INK = colors.HexColor("#1b1f24")
MUTED = colors.HexColor("#4a525c")
GRID = colors.HexColor("#8a949e")
WARN = colors.HexColor("#8a5a00")
SHANGHAI = ZoneInfo("Asia/Shanghai")
STATUS_ZH = {"planned": "计划中", "in_progress": "进行中", "done": "已完成", "dropped": "已放弃"}


def _wrap(line: str, size: float, max_width: float) -> list[str]:
    """Break text into lines that fit, character by character (Chinese has no spaces to break at)."""
    out, current = [], ""
    for ch in line:
        if text.width(current + ch, size) > max_width and current:
            out.append(current)
            current = ""
        current += ch
    return out + ([current] if current else [])


class _Writer:
    def __init__(self, canvas: Canvas, footer: str):
        self.c = canvas
        self.width, self.height = A4
        self.left = 18 * mm
        self.right = self.width - 18 * mm
        self.footer = footer
        self.page = 1
        self.y = self.height - 20 * mm

    def _finish_page(self) -> None:
        self.c.setFillColor(MUTED)
        text.draw(self.c, self.left, 10 * mm, self.footer, 8)
        text.draw(self.c, self.right, 10 * mm, f"{self.page}", 8, align="right")

    def need(self, height: float) -> None:
        if self.y - height < 18 * mm:
            self._finish_page()
            self.c.showPage()
            self.page += 1
            self.y = self.height - 20 * mm

    def heading(self, line: str, size: float = 14) -> None:
        self.need(size * 2.2)
        self.y -= size * 0.6
        self.c.setFillColor(BRAND)
        text.draw(self.c, self.left, self.y, line, size, bold=True)
        self.y -= size * 1.1

    def para(self, line: str, size: float = 10, color=INK, indent: float = 0) -> None:
        for part in _wrap(line, size, self.right - self.left - indent):
            self.need(size * 1.5)
            self.c.setFillColor(color)
            text.draw(self.c, self.left + indent, self.y, part, size)
            self.y -= size * 1.45

    def row(self, cells: list[str], widths: list[float], size: float = 9, bold: bool = False) -> None:
        self.need(size * 1.6)
        x = self.left
        self.c.setFillColor(INK)
        for cell, w in zip(cells, widths, strict=True):
            shown = cell
            while shown and text.width(shown, size, bold) > w - 2 * mm:
                shown = shown[:-1]
            text.draw(self.c, x, self.y, shown, size, bold=bold)
            x += w
        self.y -= size * 1.5

    def done(self) -> None:
        self._finish_page()


def _radar(c: Canvas, cx: float, cy: float, radius: float, labels: list[str], values: list[float]) -> None:
    n = len(labels)

    def point(i: int, r: float) -> tuple[float, float]:
        angle = math.pi / 2 - 2 * math.pi * i / n
        return cx + r * math.cos(angle), cy + r * math.sin(angle)

    c.setStrokeColor(GRID)
    c.setLineWidth(0.4)
    for ring in range(1, 6):
        pts = [point(i, radius * ring / 5) for i in range(n)]
        path = c.beginPath()
        path.moveTo(*pts[0])
        for p in pts[1:]:
            path.lineTo(*p)
        path.close()
        c.drawPath(path, stroke=1, fill=0)
    for i, label in enumerate(labels):
        x, y = point(i, radius)
        c.line(cx, cy, x, y)
        lx, ly = point(i, radius + 9 * mm)
        c.setFillColor(INK)
        align = "centre" if abs(lx - cx) < 5 else ("left" if lx > cx else "right")
        text.draw(c, lx, ly - 3, label, 8, align=align)
    pts = [point(i, radius * max(0.0, v) / 5) for i, v in enumerate(values)]
    c.setStrokeColor(BRAND)
    c.setFillColor(colors.Color(0.04, 0.36, 0.68, alpha=0.25))
    c.setLineWidth(1.4)
    path = c.beginPath()
    path.moveTo(*pts[0])
    for p in pts[1:]:
        path.lineTo(*p)
    path.close()
    c.drawPath(path, stroke=1, fill=1)


def _level(model, code) -> str:
    return f"{code} {model.level(code)['name_zh']}" if code else "—"


def _num(value) -> str:
    return f"{value:.2f}" if value is not None else "—"


def render_report(report: dict, group_names: dict[str, str]) -> bytes:
    """PDF bytes of a report built by services.maturity_report.build."""
    rnd, model, result = report["round"], report["model"], report["result"]
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"数字化成熟度诊断报告 {rnd.institution.name}")
    canvas.setAuthor("Competency")
    canvas.setSubject("Digital-maturity diagnosis report")
    w = _Writer(canvas, f"数字化成熟度诊断报告 · {rnd.institution.name} · {rnd.title}")

    canvas.setFillColor(BRAND)
    text.draw(canvas, w.left, w.y, "数字化成熟度诊断报告", 22, bold=True)
    w.y -= 9 * mm
    canvas.setFillColor(MUTED)
    text.draw(canvas, w.left, w.y, "Digital-maturity diagnosis report", 12)
    w.y -= 9 * mm
    w.para(f"院校：{rnd.institution.name}    轮次：{rnd.title}", 11)
    when = rnd.closed_at or rnd.opened_at
    state = "已结束" if rnd.status == "closed" else "进行中（初步结果）"
    w.para(
        f"状态：{state}    日期：{when.astimezone(SHANGHAI):%Y-%m-%d}    模型版本：{result['model_version']}",
        10,
    )
    if rnd.synthetic:
        w.para("演示数据：本轮次的答卷与证据均为合成数据，不是真实诊断。 (Demo: synthetic data)", 10, WARN)
    overall = result["overall"]
    w.heading(f"总体等级：{_level(model, overall['level'])}（{_num(overall['score'])} / 5）", 15)
    change = report.get("change")
    if change and change["overall"]["delta"] is not None:
        w.para(f"较上一轮（{change['round'].title}）变化：{change['overall']['delta']:+.2f}", 10)

    w.heading("各领域成熟度 Maturity per area")
    labels = [a["name_zh"] for a in model.areas]
    values = [result["areas"].get(a["code"], {}).get("score") or 0 for a in model.areas]
    w.need(95 * mm)
    _radar(canvas, w.width / 2, w.y - 45 * mm, 30 * mm, labels, values)
    w.y -= 95 * mm
    widths = [70 * mm, 25 * mm, 35 * mm, 25 * mm, 20 * mm]
    w.row(["领域 Area", "得分 1–5", "等级 Level", "变化 Change", "同类中位"], widths, bold=True)
    for area in model.areas:
        got = result["areas"].get(area["code"], {})
        delta = change["areas"].get(area["code"], {}).get("delta") if change else None
        peer = (report.get("peers") or {}).get(area["code"])
        w.row(
            [
                f"{area['code']} {area['name_zh']}",
                _num(got.get("score")),
                _level(model, got.get("level")),
                f"{delta:+.2f}" if delta is not None else "—",
                f"{peer['median']}" if peer else "—",
            ],
            widths,
        )
    if not report.get("peers"):
        w.para(
            f"同类院校对比：需至少 {report['min_peers']} 所同类院校完成诊断（目前 {report['peer_count']} 所），暂不显示。",
            9,
            MUTED,
        )

    w.heading("优势与短板 Strengths and gaps")
    for title, codes in (("优势", report["strengths"]), ("短板", report["gaps"])):
        for code in codes:
            ind = result["indicators"][code]
            w.para(f"{title}：{code} {model.indicators[code].name_zh}（{_level(model, ind['level'])}）", 10)

    w.heading("群体差异 Respondent groups")
    sizes = "，".join(f"{group_names.get(g, g)} {n} 人" for g, n in result["groups"]["sizes"].items())
    w.para(
        f"答卷人数：{sizes or '—'}。人数少于 {report['min_group']} 的群体不单独呈现，也不参与计算。", 9, MUTED
    )
    shown = result["groups"]["shown"]
    if shown:
        gw = [55 * mm] + [min(28 * mm, 100 * mm / len(shown))] * len(shown) + [20 * mm]
        w.row(["领域"] + [group_names.get(g, g) for g in shown] + ["最大差距"], gw, bold=True)
        for area in model.areas:
            d = result["groups"]["by_area"].get(area["code"])
            if d:
                w.row(
                    [area["name_zh"]]
                    + [str(d["groups"].get(g, "—")) for g in shown]
                    + [f"{d['gap']}{' !' if d['notable'] else ''}"],
                    gw,
                )

    w.heading("测评数据 Measured literacy")
    for pop, name in (("teacher", "教师"), ("student", "学生")):
        m = result["literacy"][pop]
        dist = "，".join(
            f"{code} {n}" for levels in m["distribution"].values() for code, n in sorted(levels.items())
        )
        w.para(
            f"{name}：在册 {m['people']} 人，已测 {m['tested']} 人，覆盖率 {m['coverage'] if m['coverage'] is not None else '—'}%；"
            f"等级分布 {dist or '—'}；数据截至 {m['as_of'][:10] if m['as_of'] else '—'}",
            9,
        )

    w.heading("提升建议（向上一级）Recommendations")
    for i, rec in enumerate(report["recommendations"], 1):
        ind = model.indicators[rec["indicator"]]
        w.para(
            f"{i}. {ind.code} {ind.name_zh}：当前 {_level(model, rec['level'])}，目标 {_level(model, rec['target'])}："
            f"{ind.descriptor(rec['target'], 'zh')}",
            10,
        )

    w.heading("改进行动清单 Action list")
    aw = [18 * mm, 72 * mm, 30 * mm, 25 * mm, 25 * mm]
    w.row(["指标", "行动", "责任人", "完成期限", "状态"], aw, bold=True)
    for action in report["actions"]:
        w.row(
            [
                action.indicator,
                action.title,
                action.owner,
                f"{action.due_on:%Y-%m-%d}",
                STATUS_ZH[action.status],
            ],
            aw,
        )
    if not report["actions"]:
        w.para("尚无改进行动。", 9, MUTED)

    w.heading("说明 Notes")
    weights = result["weights"]
    w.para(
        f"综合得分 = 问卷 {weights['questionnaire']} + 客观指标 {weights['objective']} + 专家评议 {weights['expert']}（缺失的证据类型按比例重新分配权重）；"
        "等级为得分所达到的整数级（累积判定）。模型由平台编制，等级命名借鉴 GB/T 39116—2020。",
        9,
        MUTED,
    )
    w.done()
    canvas.save()
    return buf.getvalue()
