"""One way to name things on every page: bilingual names, level labels, names for codes, local times.

Pages show names, not codes (a code may follow in small print); a level is always "L6 · 创新者" in
Chinese and "L6 · Pioneer" in English; times are in the viewer's zone (default Beijing time).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from flask_babel import format_datetime
from flask_babel import gettext as _

from competency import graph
from competency.bilingual import localized
from competency.localtime import DEFAULT_ZONE, offset_label, to_local
from competency.web.i18n import select_locale, select_timezone


def english() -> bool:
    return select_locale() == "en"


def bi(obj: object, field: str = "name") -> str:
    """``obj.<field>_en`` in English, else ``obj.<field>_zh`` (competency.bilingual.localized)."""
    return localized(obj, field, english())


@lru_cache(maxsize=4)
def _names(version: str) -> dict[str, tuple[str, str]]:
    """Code → (Chinese, English) for every map node, job role, industry and level scale."""
    names: dict[str, tuple[str, str]] = {}
    for tree in (graph.teacher_map(), graph.student_indicators()):
        for code, data in tree.nodes(data=True):
            names[code] = (data.get("name_zh") or code, data.get("name_en") or code)
    for profile in graph.job_profiles():
        names[profile.code] = (profile.name_zh, profile.name_en)
    for industry in graph.industries():
        names.setdefault(industry.code, (industry.name_zh, industry.name_en))
    return names


def code_name(code: str | None) -> str:
    """The name of a map node, job role or industry by its code (the code itself when unknown)."""
    if not code:
        return "—"
    pair = _names(graph.data_version()).get(code)
    if pair is None:
        return code
    return pair[1] if english() else pair[0]


def dimension_name(row: Mapping) -> str:
    """A result row's name ({code, name_zh, name_en}); rows whose stored name is just the code (a
    job-role dimension) are named from the maps instead, so "J-BD-01" reads "大数据分析员"."""
    name = bi(row)
    return code_name(row["code"]) if not name or name == row.get("code") else name


def known_code(code: str | None) -> bool:
    return bool(code) and code in _names(graph.data_version())


def level_label(scale_name: str | None, code: str | None) -> str:
    """ "L6 · 创新者" / "L6 · Pioneer"; "—" when there is no level; the code alone when unknown."""
    if not code:
        return "—"
    try:
        level = graph.level_scale(scale_name or "teacher")[code]
    except KeyError:
        for other in ("teacher", "job", "digcomp"):
            try:
                level = graph.level_scale(other)[code]
                break
            except KeyError:
                continue
        else:
            return code
    return f"{level.code} · {bi(level)}"


def local_datetime(value, fmt: str = "medium") -> str:
    """A stored UTC time in the viewer's zone, formatted for the locale."""
    if value is None:
        return ""
    return format_datetime(to_local(value, select_timezone()), fmt)


def zone_note() -> str:
    """ "Times in Asia/Shanghai, UTC+08:00": said once on pages that list times."""
    return _("Times in %(zone)s", zone=offset_label(select_timezone() or DEFAULT_ZONE))


def questions(n: int) -> str:
    """ "1 question" / "2 questions" / "3 道题" (plural-safe)."""
    from flask_babel import ngettext

    return ngettext("%(num)d question", "%(num)d questions", n)


def colon() -> str:
    """The colon after a label: full width in Chinese text, ASCII with a space in English."""
    return ": " if english() else "："


def paren(text: object) -> str:
    """Text in brackets: full-width brackets in Chinese, " (…)" in English."""
    return f" ({text})" if english() else f"（{text}）"
