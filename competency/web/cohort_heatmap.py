"""The cohort heat map as an HTML table: members × indicators, sortable, with full names.

An HTML table (not a shrunken SVG) keeps the text at reading size at 40 members × 33 indicators: it
scrolls inside a labelled, focusable region with sticky headers, every header carries the full
indicator name, and each cell shows its level code on a colour that keeps 4.5:1 contrast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from competency.web.cohort_charts import RAMP
from competency.web.labels import code_name

MEMBER_SORTS = ("name", "weakest", "strongest")
COLUMN_SORTS = ("code", "weakest")


@dataclass
class Cell:
    level: str | None
    shade: int | None  # index into the colour ramp (CSS class heat-N; the CSP forbids inline styles)


def shade(index: int, count: int) -> int:
    return round(index * (len(RAMP) - 1) / max(count - 1, 1))


@dataclass
class HeatRow:
    user: object
    cells: list[Cell]
    mean: float | None


@dataclass
class Column:
    code: str
    name: str
    mean: float | None


@dataclass
class Heatmap:
    columns: list[Column]
    rows: list[HeatRow]
    sort: str  # "name" | "weakest" | "strongest" | an indicator code
    cols: str  # "code" | "weakest"
    levels: Sequence[str]


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def build(
    rows: list[tuple[object, dict[str, str | None]]],
    indicators: Sequence[str],
    levels: Sequence[str],
    sort: str = "",
    cols: str = "",
) -> Heatmap:
    """Members sorted by name, by their mean level (weakest or strongest first) or by one indicator's
    level (lowest first); indicators by code or by the cohort's mean level (weakest first)."""
    rank = {lv: i for i, lv in enumerate(levels)}
    col_means = {code: _mean([rank[r[code]] for _u, r in rows if r.get(code) in rank]) for code in indicators}
    cols = cols if cols in COLUMN_SORTS else "code"
    ordered = list(indicators)
    if cols == "weakest":
        ordered.sort(key=lambda c: (col_means[c] is None, col_means[c] or 0.0))
    sort = sort if sort in MEMBER_SORTS or sort in indicators else "name"
    out = []
    for user, levels_of in rows:
        cells = []
        for code in ordered:
            level = levels_of.get(code)
            cells.append(Cell(level, shade(rank[level], len(levels)) if level in rank else None))
        out.append(HeatRow(user, cells, _mean([rank[v] for v in levels_of.values() if v in rank])))
    name = lambda row: (row.user.display_name, row.user.username)  # noqa: E731
    if sort == "weakest":
        out.sort(key=lambda r: (r.mean is None, r.mean or 0.0, name(r)))
    elif sort == "strongest":
        out.sort(key=lambda r: (r.mean is None, -(r.mean or 0.0), name(r)))
    elif sort in indicators:
        at = ordered.index(sort)
        out.sort(key=lambda r: (r.cells[at].level is None, rank.get(r.cells[at].level, 0), name(r)))
    else:
        out.sort(key=name)
    columns = [Column(code, code_name(code), col_means[code]) for code in ordered]
    return Heatmap(columns, out, sort, cols, levels)
