"""The graded result page's rows and charts: levels named in the viewer's language, next steps, growth."""

from __future__ import annotations

from flask_babel import gettext as _

from competency import graph
from competency.bilingual import localized
from competency.models import Attempt, User
from competency.services import result_page, results_words
from competency.services.assessment_definitions import map_for
from competency.services.outcome_links import outcome_links
from competency.web import charts
from competency.web.i18n import select_locale
from competency.web.labels import dimension_name, level_label


def fallback_step(scale, ind: dict, nxt, lang_en: bool) -> str | None:
    """A next step for an indicator without a descriptor of its own: never blank while unmet."""
    if ind.get("met") is True:
        return None
    if not ind.get("level"):
        return _("Not measured yet: answer questions on this indicator in your next attempt.")
    if nxt is None:
        return None
    return _(
        "Work towards %(level)s: %(what)s",
        level=level_label(scale.name, nxt.code),
        what=localized(nxt, "descriptor", lang_en),
    )


def dimension_rows(scale, res: dict, lang_en: bool) -> list[dict]:
    rows = []
    for dim in res["dimensions"]:
        level = scale[dim["level"]]
        nxt = scale.next_level(dim["level"])
        rows.append(
            {
                **dim,
                # A job-role dimension stored under its code reads as the role's name.
                "name": dimension_name(dim),
                "level_name": localized(level, "name", lang_en),
                "descriptor": localized(level, "descriptor", lang_en),
                "next": localized(nxt, "name", lang_en) if nxt else None,
                "next_descriptor": localized(nxt, "descriptor", lang_en) if nxt else None,
                "index": result_page.level_position(scale, dim["level"]),
                "words": results_words.level_words(dim["level"], dim.get("range")),
                "class_name": localized(dim["class"], "name", lang_en) if dim.get("class") else None,
                "class_code": (dim.get("class") or {}).get("code"),
            }
        )
    return rows


def indicator_rows(scale, tree, res: dict, lang_en: bool) -> list[dict]:
    indicators = []
    for ind in res.get("indicators", []):
        node = tree.nodes[ind["code"]] if ind["code"] in tree else {}
        descriptors = node.get("descriptors") or {}
        nxt = scale.next_level(ind["level"]) if ind.get("level") else None
        hint = None
        if nxt is not None and nxt.code in descriptors:
            hint = descriptors[nxt.code]["en" if lang_en else "zh"]
        hint = hint or fallback_step(scale, ind, nxt, lang_en)
        indicators.append(
            {
                **ind,
                "name": dimension_name(ind),
                "level_name": localized(scale[ind["level"]], "name", lang_en) if ind.get("level") else None,
                "target_name": localized(scale[ind["target"]], "name", lang_en) if ind.get("target") else None,
                "next_hint": hint,
            }
        )
    return indicators


def level_chart(scale, rows: list[dict]) -> str:
    top = result_page.axis_top(scale)
    return charts.radar(
        [r["name"] for r in rows],
        [r["index"] for r in rows],
        top,
        _("Level per dimension"),
        "; ".join(f"{r['name']}: {r['level_name']}" for r in rows),
        tick_labels=[level_label(scale.name, lv.code) for lv in scale][len(scale) - top :],
    )


def growth_chart(growth: result_page.Growth | None, rows: list[dict]) -> str | None:
    if growth is None:
        return None
    return charts.line(
        [r["name"] for r in rows],
        growth.points,
        growth.labels,
        -3,
        3,
        _("Growth over attempts (θ)"),
        _("Estimated ability per dimension at each attempt; the table lists the same values."),
    )


def context(attempt: Attempt, user: User) -> dict:
    """Everything assess/result.html shows for a graded attempt."""
    assessment = attempt.assessment
    scale = graph.level_scale(assessment.scale)
    locale = select_locale()
    lang_en = locale == "en"
    res = attempt.result
    rows = dimension_rows(scale, res, lang_en)
    history = result_page.graded_history(user, assessment)
    overall = scale[res["overall_level"]]
    return {
        "attempt": attempt,
        "assessment": assessment,
        "rows": rows,
        "chart": level_chart(scale, rows),
        "indicators": indicator_rows(scale, map_for(assessment), res, lang_en),
        "overall": overall,
        "overall_name": overall.name_en if lang_en else overall.name_zh,
        "overall_words": results_words.overall_words(res),
        "history": history,
        "growth": growth_chart(result_page.growth(history, [r["code"] for r in rows]), rows),
        "links": outcome_links(attempt),
        "locale": locale,
    }
