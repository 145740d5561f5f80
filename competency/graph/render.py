"""Accessible SVG rendering of a map as an outline, with levels shown by colour AND text.

The SVG carries <title>/<desc> (role="img"), a text label per node, the level code and name
as text next to each node, and a legend. Fills are light tints with dark text so every
pairing meets WCAG AA contrast (checked in the tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import escape

import networkx as nx

from competency.graph.analysis import children, top_level
from competency.graph.scales import LevelScale

TEXT_COLOUR = "#1a1a1a"
BORDER_COLOUR = "#5b5b5b"
UNRATED_FILL = "#ffffff"
# light tints, low level -> high level; all have contrast >= 4.5:1 with TEXT_COLOUR
PALETTE = ("#fde2e1", "#fdebd0", "#fef9c3", "#dcfce7", "#cffafe", "#dbeafe", "#ede9fe", "#fae8ff")

ROW = 30
INDENT = 22
WIDTH = 900
BADGE = 190
_TEXT = {
    "zh": {"unrated": "未评定", "target": "目标", "legend": "图例", "levels": "等级"},
    "en": {"unrated": "not assessed", "target": "target", "legend": "Legend", "levels": "levels"},
}


def level_fill(scale: LevelScale, code: str | None) -> str:
    """Fill colour of a level (white when unrated); spread over the palette for short scales."""
    if code is None:
        return UNRATED_FILL
    i = scale.index(code)
    step = (len(PALETTE) - 1) / max(len(scale) - 1, 1)
    return PALETTE[round(i * step)]


def render_svg(
    graph: nx.DiGraph,
    levels: Mapping[str, str] | None = None,
    scale: LevelScale | None = None,
    *,
    targets: Mapping[str, str] | None = None,
    lang: str = "zh",
    title: str | None = None,
    id_prefix: str = "map",
) -> str:
    """SVG text of ``graph`` with ``levels`` ({node code: level code}) coloured and labelled."""
    if lang not in _TEXT:
        raise ValueError("lang must be 'zh' or 'en'")
    words = _TEXT[lang]
    levels = dict(levels or {})
    targets = dict(targets or {})
    if (levels or targets) and scale is None:
        raise ValueError("levels need a scale")
    name_key = f"name_{lang}"
    rows: list[tuple[str, int]] = []

    def walk(code: str, depth: int) -> None:
        rows.append((code, depth))
        for kid in children(graph, code):
            walk(kid, depth + 1)

    for top in top_level(graph):
        walk(top, 0)
    legend_rows = len(scale) + 1 if scale is not None else 0
    height = 70 + ROW * len(rows) + (40 + ROW * legend_rows if legend_rows else 0)
    heading = title or graph.graph.get(f"title_{lang}") or graph.graph.get("id", "map")
    rated = sum(1 for code, _ in rows if code in levels)
    desc = (
        f"{heading}：{len(rows)} 个节点，其中 {rated} 个已评定等级。版本 {graph.graph.get('version', '')}。"
        if lang == "zh"
        else f"{heading}: {len(rows)} nodes, {rated} with an assessed level. Version {graph.graph.get('version', '')}."
    )
    tid, did = f"{id_prefix}-title", f"{id_prefix}-desc"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{tid} {did}" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'font-family="Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif" font-size="14">',
        f'<title id="{tid}">{escape(heading)}</title>',
        f'<desc id="{did}">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="30" font-size="18" font-weight="bold" fill="{TEXT_COLOUR}">{escape(heading)}</text>',
    ]
    y = 50
    for code, depth in rows:
        data = graph.nodes[code]
        level = levels.get(code)
        x = 10 + depth * INDENT
        label = f"{code} {data.get(name_key, '')}"
        if level is not None:
            lv = scale[level]  # type: ignore[index]
            badge = f"{lv.code} {getattr(lv, name_key)}"
        else:
            badge = words["unrated"]
        if code in targets:
            badge += f" / {words['target']} {targets[code]}"
        weight = "bold" if depth == 0 else "normal"
        tip = f"{label} — {badge}"
        out += [
            f"<g><title>{escape(tip)}</title>",
            f'<rect x="{x}" y="{y}" width="{WIDTH - x - 10}" height="{ROW - 4}" rx="4" '
            f'fill="{level_fill(scale, level) if scale else UNRATED_FILL}" stroke="{BORDER_COLOUR}"/>',
            f'<text x="{x + 8}" y="{y + 18}" fill="{TEXT_COLOUR}" font-weight="{weight}">{escape(_clip(label, x))}</text>',
            f'<text x="{WIDTH - 18}" y="{y + 18}" fill="{TEXT_COLOUR}" text-anchor="end">{escape(badge)}</text>',
            "</g>",
        ]
        y += ROW
    if scale is not None:
        y += 20
        out.append(
            f'<text x="10" y="{y + 14}" font-weight="bold" fill="{TEXT_COLOUR}">'
            f"{escape(words['legend'])}: {escape(getattr(scale, name_key))}</text>"
        )
        y += ROW - 6
        for lv in [*scale, None]:
            fill = level_fill(scale, lv.code if lv else None)
            text = f"{lv.code} {getattr(lv, name_key)}" if lv else words["unrated"]
            out += [
                f'<rect x="10" y="{y}" width="40" height="20" fill="{fill}" stroke="{BORDER_COLOUR}"/>',
                f'<text x="60" y="{y + 15}" fill="{TEXT_COLOUR}">{escape(text)}</text>',
            ]
            y += ROW
    out.append("</svg>")
    return "\n".join(out)


def _text_width(text: str) -> float:
    # CJK glyphs are about one em (14px) wide, Latin ones about half an em
    return sum(14.0 if ord(ch) > 0x2E80 else 7.8 for ch in text)


def _clip(label: str, x: int) -> str:
    """Shorten long labels so they do not run under the level badge (the full text stays in <title>)."""
    room = WIDTH - x - BADGE - 30
    if _text_width(label) <= room:
        return label
    while label and _text_width(label + "…") > room:
        label = label[:-1]
    return label + "…"
