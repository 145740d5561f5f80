"""Server-drawn SVG charts. Each chart is an image with a title and description, and every page
that shows one puts the same numbers in a table beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

INK = "#1b1f24"
GRID = "#8a949e"
FILL = "#0b5cad"


def radar(
    labels: Sequence[str],
    values: Sequence[float],
    maximum: float,
    title: str,
    desc: str,
    size: int = 400,
    ticks: int | None = None,
) -> str:
    """A radar chart of `values` (0..maximum) on one axis per label."""
    n = len(labels)
    if n < 3:
        return bars(labels, values, maximum, title, desc)
    cx = cy = size / 2
    radius = size / 2 - 95  # room for the axis labels outside the rings
    ticks = ticks or int(maximum)

    def point(i: int, r: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return cx + r * math.cos(angle), cy + r * math.sin(angle)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{size}" height="{size}" '
        f'role="img" aria-labelledby="radar-title radar-desc" class="chart">',
        f'<title id="radar-title">{escape(title)}</title><desc id="radar-desc">{escape(desc)}</desc>',
    ]
    for t in range(1, ticks + 1):
        ring = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, radius * t / ticks) for i in range(n)))
        parts.append(f'<polygon points="{ring}" fill="none" stroke="{GRID}" stroke-width="1"/>')
    for i, label in enumerate(labels):
        x, y = point(i, radius)
        parts.append(
            f'<line x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>'
        )
        lx, ly = point(i, radius + 14)
        anchor = "middle" if abs(lx - cx) < 5 else ("start" if lx > cx else "end")
        parts.append(
            f'<text x="{lx:.1f}" y="{ly + 4:.1f}" text-anchor="{anchor}" font-size="13" fill="{INK}">{escape(label)}</text>'
        )
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
    labels: Sequence[str], values: Sequence[float], maximum: float, title: str, desc: str, width: int = 360
) -> str:
    """Horizontal bars, for one or two dimensions where a radar would mislead."""
    row = 34
    height = row * len(labels) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="bars-title bars-desc" class="chart">',
        f'<title id="bars-title">{escape(title)}</title><desc id="bars-desc">{escape(desc)}</desc>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 10 + i * row
        length = (width - 150) * max(0.0, min(value, maximum)) / maximum
        parts.append(f'<text x="0" y="{y + 18}" font-size="12" fill="{INK}">{escape(label)}</text>')
        parts.append(f'<rect x="140" y="{y + 4}" width="{length:.1f}" height="20" fill="{FILL}"/>')
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
