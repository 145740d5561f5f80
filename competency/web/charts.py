"""Server-drawn SVG charts. Each chart is an image with a title and description, and every page
that shows one puts the same numbers in a table beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

INK = "#1b1f24"
GRID = "#8a949e"
FILL = "#0b5cad"


def wrap(label: str, width: float = 14) -> list[str]:
    """Split a label into lines of about ``width`` Latin characters (a CJK character counts 2), at
    spaces where there are any, so labels stay inside the chart in both languages."""
    lines: list[str] = []
    current, used = "", 0.0
    for word in label.replace("·", "· ").split(" ") if " " in label else list(label):
        cost = sum(2 if ord(ch) > 0x2E80 else 1 for ch in word) + (1 if " " in label and current else 0)
        if current and used + cost > width:
            lines.append(current)
            current, used = "", 0.0
            cost -= 1 if " " in label else 0
        joiner = " " if " " in label and current else ""
        current += joiner + word
        used += cost
    if current:
        lines.append(current)
    if len(lines) > 4:  # never drop words silently: the last line ends with an ellipsis
        lines = [*lines[:3], lines[3] + "…"]
    return lines


def _text_lines(x: float, y: float, lines: list[str], anchor: str, size: int = 13) -> str:
    top = y - (len(lines) - 1) * (size + 2) / 2
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{top + i * (size + 2):.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text text-anchor="{anchor}" font-size="{size}" fill="{INK}">{spans}</text>'


def radar(
    labels: Sequence[str],
    values: Sequence[float],
    maximum: float,
    title: str,
    desc: str,
    size: int = 400,
    ticks: int | None = None,
    tick_labels: Sequence[str] | None = None,
) -> str:
    """A radar chart of `values` (0..maximum) on one axis per label, with the scale's rings labelled
    (``tick_labels``, default 1..maximum) and labels wrapped so none is clipped."""
    n = len(labels)
    if n < 3:
        return bars(labels, values, maximum, title, desc, tick_labels=tick_labels)
    pad = 70  # the drawing area is widened on both sides, so long labels stay inside
    cx = cy = size / 2
    radius = size / 2 - 70
    ticks = ticks or int(maximum)
    names = list(tick_labels or [str(t) for t in range(1, ticks + 1)])

    def point(i: int, r: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return cx + r * math.cos(angle), cy + r * math.sin(angle)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{-pad} 0 {size + 2 * pad} {size}" '
        f'width="{size + 2 * pad}" height="{size}" role="img" aria-labelledby="radar-title radar-desc" class="chart">',
        f'<title id="radar-title">{escape(title)}</title><desc id="radar-desc">{escape(desc)}</desc>',
    ]
    for t in range(1, ticks + 1):
        ring = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, radius * t / ticks) for i in range(n)))
        parts.append(f'<polygon points="{ring}" fill="none" stroke="{GRID}" stroke-width="1"/>')
        if t - 1 < len(names):  # the scale: each ring named on the first axis
            parts.append(
                f'<text x="{cx + 4:.1f}" y="{cy - radius * t / ticks + 11:.1f}" font-size="10" fill="{INK}" stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(names[t - 1])}</text>'
            )
    for i, label in enumerate(labels):
        x, y = point(i, radius)
        parts.append(
            f'<line x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>'
        )
        lx, ly = point(i, radius + 16)
        anchor = "middle" if abs(lx - cx) < 5 else ("start" if lx > cx else "end")
        lines = wrap(label, 16)
        if abs(lx - cx) < 5:  # top or bottom axis: grow away from the chart
            ly += -(len(lines) - 1) * 7.5 if ly < cy else (len(lines) - 1) * 7.5 + 6
        parts.append(_text_lines(lx, ly + 4, lines, anchor))
    shape = " ".join(
        f"{x:.1f},{y:.1f}"
        for x, y in (point(i, radius * max(0.0, min(v, maximum)) / maximum) for i, v in enumerate(values))
    )
    parts.append(
        f'<polygon points="{shape}" fill="{FILL}" fill-opacity="0.25" stroke="{FILL}" stroke-width="2.5"/>'
    )
    for i, v in enumerate(values):
        x, y = point(i, radius * max(0.0, min(v, maximum)) / maximum)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{FILL}"/>')
    parts.append("</svg>")
    return "".join(parts)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    maximum: float,
    title: str,
    desc: str,
    width: int = 360,
    tick_labels: Sequence[str] | None = None,
) -> str:
    """Horizontal bars, for one or two dimensions where a radar would mislead: each bar named above it,
    its value printed at its end, and a scale with every level under the bars."""
    row = 48
    left, right = 4, 16
    span = width - left - right
    names = list(tick_labels or [str(t) for t in range(1, int(maximum) + 1)])
    height = row * len(labels) + 34
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="bars-title bars-desc" class="chart">',
        f'<title id="bars-title">{escape(title)}</title><desc id="bars-desc">{escape(desc)}</desc>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 6 + i * row
        length = span * max(0.0, min(value, maximum)) / maximum
        parts.append(f'<text x="{left}" y="{y + 13}" font-size="13" fill="{INK}">{escape(label)}</text>')
        parts.append(
            f'<rect x="{left}" y="{y + 19}" width="{span:.1f}" height="20" fill="none" stroke="{GRID}"/>'
            f'<rect x="{left}" y="{y + 19}" width="{length:.1f}" height="20" fill="{FILL}"/>'
        )
        k = int(round(value)) - 1
        if 0 <= k < len(names):
            inside = length > span * 0.6
            x = left + length + (-6 if inside else 6)
            colour = "#ffffff" if inside else INK
            anchor = "end" if inside else "start"
            parts.append(
                f'<text x="{x:.1f}" y="{y + 34}" font-size="12" text-anchor="{anchor}" fill="{colour}">{escape(names[k])}</text>'
            )
    axis_y = height - 22
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + span}" y2="{axis_y}" stroke="{GRID}"/>')
    for t in range(1, int(maximum) + 1):
        x = left + span * t / maximum
        parts.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 4}" stroke="{GRID}"/>')
        code = names[t - 1].split(" ")[0] if t - 1 < len(names) else str(t)
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 16}" font-size="10" text-anchor="end" fill="{INK}">{escape(code)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line(
    series_labels: Sequence[str],
    points: Sequence[Sequence[float | None]],
    x_labels: Sequence[str],
    low: float,
    high: float,
    title: str,
    desc: str,
    width: int = 420,
    height: int = 220,
) -> str:
    """Growth over attempts: one line per series (e.g. per dimension), x = attempt."""
    left, bottom, right = 40, 30, 10
    top = 14 + 18 * len(series_labels)  # room for the legend
    colours = ["#0b5cad", "#a4161a", "#1d6b35", "#6f42c1", "#8a4b00", "#005f73", "#3d3d3d"]
    dashes = ["", "6 3", "2 3", "8 3 2 3", "4 4", "1 2", "10 4"]
    n = max(1, len(x_labels) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (width - left - right) * i / n
        y = top + (height - top - bottom) * (1 - (v - low) / (high - low))
        return x, y

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="line-title line-desc" class="chart">',
        f'<title id="line-title">{escape(title)}</title><desc id="line-desc">{escape(desc)}</desc>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="{GRID}"/>',
    ]
    for i, label in enumerate(x_labels):
        x, _y = xy(i, low)
        parts.append(
            f'<text x="{x:.1f}" y="{height - 10}" font-size="11" text-anchor="middle" fill="{INK}">{escape(label)}</text>'
        )
    for s, (name, values) in enumerate(zip(series_labels, points, strict=True)):
        coords = [xy(i, v) for i, v in enumerate(values) if v is not None]
        colour, dash = colours[s % len(colours)], dashes[s % len(dashes)]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
            )
        for x, y in coords:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{escape(name)}</title></circle>'
            )
    parts.append("</svg>")
    return "".join(parts)
