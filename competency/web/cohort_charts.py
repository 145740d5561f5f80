"""Server-drawn SVG for cohort results: level distribution per dimension and an indicator heat map.

Each chart is an image with a title and a description; the page puts the same numbers in a table.
Colours run light to dark blue with the level code printed in each cell, so colour is never the only cue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

INK = "#1b1f24"
WHITE = "#ffffff"
# Light → dark blues; each entry carries the text colour that keeps 4.5:1 contrast on it.
RAMP = [
    ("#eef4fb", INK),
    ("#c6dbef", INK),
    ("#9ecae1", INK),
    ("#6baed6", INK),
    ("#2f6fb0", WHITE),
    ("#08519c", WHITE),
    ("#08306b", WHITE),
]


def _colour(index: int, count: int) -> tuple[str, str]:
    return RAMP[round(index * (len(RAMP) - 1) / max(count - 1, 1))]


def _open(width: float, height: float, ident: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" class="chart" id="{ident}">',
        f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(desc)}</desc>',
    ]


def distribution(
    rows: Mapping[str, Mapping[str, int]],
    labels: Mapping[str, str],
    levels: Sequence[str],
    title: str,
    desc: str,
    ident: str = "distribution",
) -> str:
    """Horizontal 100 % stacked bars: one bar per dimension, one segment per level."""
    label_w, bar_w, row_h = 190, 420, 30
    height = 40 + row_h * len(rows) + 40
    parts = _open(label_w + bar_w + 20, height, ident, title, desc)
    for r, (key, counts) in enumerate(rows.items()):
        y = 30 + r * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end" font-size="12" fill="{INK}">{escape(labels.get(key, key))}</text>'
        )
        total = sum(counts.values())
        x = float(label_w)
        for i, level in enumerate(levels):
            n = counts.get(level, 0)
            if not total or not n:
                continue
            w = bar_w * n / total
            fill, text = _colour(i, len(levels))
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" fill="{fill}" stroke="{WHITE}">'
                f"<title>{escape(labels.get(key, key))} {escape(level)}: {n}</title></rect>"
            )
            if w > 26:
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + 17}" text-anchor="middle" font-size="11" fill="{text}">{escape(level)} {n}</text>'
                )
            x += w
        if not total:
            parts.append(f'<text x="{label_w}" y="{y + 17}" font-size="11" fill="{INK}">—</text>')
    legend_y = height - 18
    for i, level in enumerate(levels):
        fill, text = _colour(i, len(levels))
        lx = label_w + i * 52
        parts.append(
            f'<rect x="{lx}" y="{legend_y - 11}" width="46" height="16" fill="{fill}" stroke="{INK}" stroke-width="0.5"/>'
        )
        parts.append(
            f'<text x="{lx + 23}" y="{legend_y + 1}" text-anchor="middle" font-size="11" fill="{text}">{escape(level)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def heatmap(
    people: Sequence[str],
    columns: Sequence[str],
    cells: Sequence[Mapping[str, str | None]],
    levels: Sequence[str],
    title: str,
    desc: str,
    ident: str = "heatmap",
) -> str:
    """Members (rows) × indicators (columns); each cell shows the level code on its colour."""
    label_w, cell_w, cell_h, head_h = 140, 46, 24, 70
    width = label_w + cell_w * max(len(columns), 1) + 10
    height = head_h + cell_h * max(len(people), 1) + 10
    parts = _open(width, height, ident, title, desc)
    for c, code in enumerate(columns):
        x = label_w + c * cell_w + cell_w / 2
        parts.append(
            f'<text x="{x:.1f}" y="{head_h - 8}" font-size="11" fill="{INK}" transform="rotate(-45 {x:.1f} {head_h - 8})">{escape(code)}</text>'
        )
    index = {lv: i for i, lv in enumerate(levels)}
    for r, (person, row) in enumerate(zip(people, cells, strict=True)):
        y = head_h + r * cell_h
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="12" fill="{INK}">{escape(person)}</text>'
        )
        for c, code in enumerate(columns):
            level = row.get(code)
            x = label_w + c * cell_w
            if level in index:
                fill, text = _colour(index[level], len(levels))
            else:
                fill, text = "#f4f6f9", INK
            parts.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}"/>')
            parts.append(
                f'<text x="{x + cell_w / 2 - 1}" y="{y + 16}" text-anchor="middle" font-size="11" fill="{text}">{escape(level or "·")}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
