"""The capability map drawn as SVG on the server: one column per dimension, sub-dimensions as bands,
indicators as linked boxes, prerequisites as arrows.

Every indicator box is a link (keyboard focusable, named by its full text) to the same page with the
indicator in focus; its state is written in the box (a word and a sign), so colour is never the only
cue, and every fill keeps 4.5:1 contrast with the text on it. The page puts the same facts in a table.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from flask_babel import gettext as _
from flask_babel import ngettext

from competency.services.capability_map import BELOW, MET, NO_TARGET, NOT_REQUIRED, CapabilityMap, Group
from competency.web.charts import wrap
from competency.web.labels import bi

INK = "#1b1f24"
MUTED = "#4a525c"
COL_W = 236
GAP = 44
DIM_H = 56
SUB_H = 34
BOX_H = 66
BOX_GAP = 8
TOP = 8
FILLS = {
    MET: "#dcfce7",
    BELOW: "#fef9c3",
    "far": "#fde2e1",
    NO_TARGET: "#dbeafe",
    NOT_REQUIRED: "#f4f6f9",
    "unmeasured": "#ffffff",
}
# Light → dark blues for cohort medians (dark text on the light half, white on the dark half).
COHORT = ("#eef4fb", "#c6dbef", "#9ecae1", "#6baed6", "#2f6fb0", "#08519c", "#08306b")


def status_text(cmap: CapabilityMap, ind) -> tuple[str, str]:
    """(sign, words) for an indicator's state."""
    if cmap.mode == "cohort":
        if not ind.distribution:
            return "?", _("no results yet")
        return "≈", _("median %(level)s", level=ind.median)
    if ind.status == MET:
        return "✓", _("target reached")
    if ind.status == BELOW:
        return "↑", ngettext("%(num)d level to go", "%(num)d levels to go", ind.gap)
    if ind.status == NO_TARGET:
        return "•", _("no target set")
    if ind.status == NOT_REQUIRED:
        return "–", _("not required for this job")
    return "?", _("not measured yet")


def _fill(cmap: CapabilityMap, ind) -> tuple[str, str]:
    if cmap.mode == "cohort":
        if not ind.median:
            return FILLS["unmeasured"], INK
        i = cmap.scale.index(ind.median)
        shade = round(i * (len(COHORT) - 1) / max(len(cmap.scale) - 1, 1))
        return COHORT[shade], (INK if shade < 4 else "#ffffff")
    if ind.status == BELOW and ind.gap >= 2:
        return FILLS["far"], INK
    return FILLS.get(ind.status, "#ffffff"), (MUTED if ind.status == NOT_REQUIRED else INK)


def _column_height(group: Group) -> float:
    h = DIM_H + len(group.indicators) * (BOX_H + BOX_GAP)
    for sub in group.groups:
        h += SUB_H + len(sub.indicators) * (BOX_H + BOX_GAP)
    return h


def render(cmap: CapabilityMap, focus: str | None, link: str, title: str, desc: str) -> str:
    """SVG text; ``link`` is the URL of this page with ``{code}`` where an indicator's code goes."""
    positions: dict[str, tuple[float, float, int, int]] = {}  # code → (x, y, column, row)
    width = len(cmap.dimensions) * (COL_W + GAP) + GAP
    height = TOP + max((_column_height(d) for d in cmap.dimensions), default=0) + 16
    body: list[str] = []
    for col, dim in enumerate(cmap.dimensions):
        x = GAP + col * (COL_W + GAP)
        y = TOP
        lines = wrap(f"{dim.code} {bi(dim)}", 30)[:2]
        body.append(
            f'<rect x="{x}" y="{y}" width="{COL_W}" height="{DIM_H - 8}" rx="6" fill="#0b5cad"/>'
            + "".join(
                f'<text x="{x + 8}" y="{y + 19 + i * 17}" font-size="14" font-weight="700" fill="#ffffff">{escape(t)}</text>'
                for i, t in enumerate(lines)
            )
        )
        y += DIM_H
        row = 0
        sections = [(None, dim.indicators)] + [(sub, sub.indicators) for sub in dim.groups]
        for sub, codes in sections:
            if sub is not None:
                label = wrap(f"{sub.code} {bi(sub)}", 34)[0]
                body.append(
                    f'<text x="{x + 2}" y="{y + 22}" font-size="12.5" font-weight="700" fill="{INK}">{escape(label)}</text>'
                    f'<line x1="{x}" y1="{y + 28}" x2="{x + COL_W}" y2="{y + 28}" stroke="#c9d1db"/>'
                )
                y += SUB_H
            for code in codes:
                positions[code] = (x, y, col, row)
                body.append(_box(cmap, code, x, y, col, row, focus, link))
                y += BOX_H + BOX_GAP
                row += 1
    arrows = [_arrow(positions, a, b, focus) for a, b in cmap.edges if a in positions and b in positions]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" width="{width}" '
        f'height="{height:.0f}" class="capmap" role="group" aria-labelledby="capmap-title capmap-desc" '
        f'data-base-width="{width}">'
        f'<title id="capmap-title">{escape(title)}</title><desc id="capmap-desc">{escape(desc)}</desc>'
        '<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4a525c"/></marker>'
        '<marker id="arrowhead-focus" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#a4161a"/></marker></defs>'
        f'<g class="capmap-arrows" aria-hidden="true">{"".join(arrows)}</g>{"".join(body)}</svg>'
    )


def _box(cmap: CapabilityMap, code: str, x: float, y: float, col: int, row: int, focus, link: str) -> str:
    ind = cmap.indicators[code]
    fill, ink = _fill(cmap, ind)
    sign, words = status_text(cmap, ind)
    name = bi(ind)
    lines = wrap(name, 32)[:2]
    if len(wrap(name, 32)) > 2:
        lines[1] = lines[1][:-1] + "…"
    if cmap.mode == "cohort":
        state = f"{sign} {words}"
    elif ind.level or ind.target:
        got = ind.level or "—"
        state = f"{sign} {got} / {_('target')} {ind.target or '—'} · {words}"
    else:
        state = f"{sign} {words}"
    label = f"{code} {name}. {state}"
    focused = code == focus
    dashed = ' stroke-dasharray="4 3"' if cmap.mode != "cohort" and ind.level is None else ""
    stroke = "#a4161a" if focused else MUTED
    parts = [
        f'<a href={quoteattr(link.replace("__code__", code))} class="capmap-node" data-code="{escape(code)}" '
        f'data-col="{col}" data-row="{row}" aria-label={quoteattr(label)}'
        + (' aria-current="true"' if focused else "")
        + ">",
        f'<rect x="{x}" y="{y}" width="{COL_W}" height="{BOX_H}" rx="5" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{3 if focused else 1.2}"{dashed}/>',
        f'<text x="{x + 7}" y="{y + 16}" font-size="11.5" font-weight="700" fill="{ink}">{escape(code)}</text>',
    ]
    parts += [
        f'<text x="{x + 7}" y="{y + 31 + i * 14}" font-size="11.5" fill="{ink}">{escape(t)}</text>'
        for i, t in enumerate(lines)
    ]
    parts.append(
        f'<text x="{x + COL_W - 7}" y="{y + 16}" font-size="11" text-anchor="end" fill="{ink}">{escape(_short(state))}</text>'
    )
    if cmap.mode == "cohort" and ind.distribution:
        parts.append(_mini_bar(cmap, ind, x + 7, y + BOX_H - 9, COL_W - 14))
    parts.append("</a>")
    return "".join(parts)


def _short(state: str) -> str:
    """The top-right corner keeps the sign and the levels; the words are in the name and the table."""
    return state.split(" · ")[0] if " · " in state else state


def _mini_bar(cmap: CapabilityMap, ind, x: float, y: float, width: float) -> str:
    total = sum(ind.distribution.values())
    out, at = [], x
    for i, level in enumerate(cmap.scale.codes):
        n = ind.distribution.get(level, 0)
        if not n:
            continue
        w = width * n / total
        shade = round(i * (len(COHORT) - 1) / max(len(cmap.scale) - 1, 1))
        out.append(
            f'<rect x="{at:.1f}" y="{y}" width="{w:.1f}" height="6" fill="{COHORT[shade]}" stroke="{MUTED}" stroke-width="0.4"/>'
        )
        at += w
    return "".join(out)


def _arrow(positions, a: str, b: str, focus: str | None) -> str:
    xa, ya, ca, _ra = positions[a]
    xb, yb, cb, _rb = positions[b]
    hot = focus in (a, b)
    colour, marker, width = ("#a4161a", "arrowhead-focus", 2.2) if hot else ("#8a949e", "arrowhead", 1.1)
    if ca == cb:  # same column: a bow on the left side
        y1, y2 = ya + BOX_H / 2, yb + BOX_H / 2
        bow = xa - GAP * 0.8
        d = f"M{xa},{y1:.1f} C{bow:.1f},{y1:.1f} {bow:.1f},{y2:.1f} {xb},{y2:.1f}"
    else:
        right = cb > ca
        x1 = xa + COL_W if right else xa
        x2 = xb if right else xb + COL_W
        y1, y2 = ya + BOX_H / 2, yb + BOX_H / 2
        mid = (x1 + x2) / 2
        d = f"M{x1},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2},{y2:.1f}"
    opacity = "1" if hot else "0.7"
    return (
        f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}" opacity="{opacity}" '
        f'marker-end="url(#{marker})"/>'
    )
