"""A hand-written SVG of a simulation report: RMSE, mean SE and mean length by true-θ bin."""

from __future__ import annotations

from html import escape
from typing import Any, Protocol


class _Report(Protocol):
    """What the plot reads of a simulation.SimulationReport (named structurally: no import back)."""

    conditional: list[dict[str, Any]]
    item_ids: tuple[str, ...]

    @property
    def n_examinees(self) -> int: ...


_W, _H, _PAD = 640, 300, 48


def _panel(
    x0: float,
    width: float,
    title: str,
    series: list[tuple[str, str, list[float]]],
    labels: list[str],
    ymax: float,
) -> list[str]:
    out = [
        f'<text x="{x0 + width / 2:.1f}" y="20" text-anchor="middle" font-size="13">{escape(title)}</text>'
    ]
    top, bottom = 32, _H - _PAD
    out.append(f'<line x1="{x0}" y1="{bottom}" x2="{x0 + width}" y2="{bottom}" stroke="#444"/>')
    out.append(f'<line x1="{x0}" y1="{top}" x2="{x0}" y2="{bottom}" stroke="#444"/>')
    for k in range(5):
        v = ymax * k / 4
        y = bottom - (bottom - top) * k / 4
        out.append(f'<text x="{x0 - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{v:.2f}</text>')
    n = max(len(labels), 1)
    xs = [x0 + width * (i + 0.5) / n for i in range(n)]
    for x, lab in zip(xs, labels, strict=True):
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" font-size="9">{escape(lab)}</text>'
        )
    for k, (name, colour, ys) in enumerate(series):
        pts = " ".join(
            f"{x:.1f},{bottom - (bottom - top) * min(y / ymax, 1.0):.1f}" for x, y in zip(xs, ys, strict=True)
        )
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>')
        out.append(
            f'<text x="{x0 + 8}" y="{top + 12 + 13 * k}" font-size="11" fill="{colour}">{escape(name)}</text>'
        )
    return out


def report_svg(report: _Report) -> str:
    rows = report.conditional
    labels = [r["label"] for r in rows]
    err = [r["rmse"] for r in rows]
    se = [r["se"] for r in rows]
    length = [r["length"] for r in rows]
    ymax1 = max([*err, *se, 0.1]) * 1.1
    ymax2 = max([*length, 1.0]) * 1.1
    half = (_W - 3 * _PAD) / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
        'font-family="sans-serif">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    parts += _panel(
        _PAD,
        half,
        "Conditional RMSE and SE by true θ",
        [("RMSE", "#c0392b", err), ("mean SE", "#2471a3", se)],
        labels,
        ymax1,
    )
    parts += _panel(
        2 * _PAD + half, half, "Mean test length by true θ", [("items", "#1e8449", length)], labels, ymax2
    )
    parts.append(
        f'<text x="{_W / 2}" y="{_H - 8}" text-anchor="middle" font-size="10">'
        f"{report.n_examinees} examinees, {len(report.item_ids)} items</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
