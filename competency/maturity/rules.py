"""How evidence becomes maturity levels: pure functions, documented in the README ("Evidence rules").

Scores live on the continuous level scale 1.0–5.0: a 1–5 agreement mean, a measured value placed in
its bands, an expert's level all land there, so they can be weighted together. A level is *reached*
when the score is at least that level (cumulative, as in GB/T 39116: 3.7 is 集成级, not yet 优化级).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import mean, median

MIN_GROUP = 5  # anonymity: a group is reported (and used) only with at least this many respondents
MIN_PEERS = 5  # peer comparison only against at least this many institutions of the same type
NOT_APPLICABLE = "na"  # 不适用
DECLINED = "decline"  # 不愿回答
SKIPS = (NOT_APPLICABLE, DECLINED)
DISAGREEMENT = 1  # experts more than this many levels apart need a consensus step
GROUP_GAP = 1.0  # a difference between groups this large (on the 1–5 scale) is pointed out


def level_of(score: float | None) -> int | None:
    """The level reached by a score on the 1–5 scale (None stays None)."""
    if score is None:
        return None
    return max(1, min(5, math.floor(score + 1e-9)))


def percent(score: float | None) -> float | None:
    """1–5 scale → 0–100 (1 → 0, 5 → 100), for summaries and charts."""
    if score is None:
        return None
    return round((score - 1) / 4 * 100, 1)


# ------------------------------------------------------------------------------------------ questionnaires


def check_answer(value) -> int | str:
    """An answer is 1..5 agreement, 'na' (不适用) or 'decline' (不愿回答); anything else is refused."""
    if value in SKIPS:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ValueError(f"answer {value!r}: expected 1–5, '{NOT_APPLICABLE}' or '{DECLINED}'")
    return value


@dataclass
class QuestionnaireResult:
    group_sizes: dict[str, int]  # submitted respondents per group (all groups)
    shown_groups: list[str]  # groups with at least MIN_GROUP respondents, the only ones used
    by_group: dict[str, dict[str, dict]]  # group → indicator → {mean, n}, shown groups only
    pooled: dict[str, dict]  # indicator → {score, n, groups, na, declined}


def questionnaire_scores(responses: Iterable[Mapping], min_group: int = MIN_GROUP) -> QuestionnaireResult:
    """Aggregate submitted questionnaires: ``responses`` = [{"group": g, "answers": {indicator: value}}].

    Answers 不适用 and 不愿回答 count for nothing (they are neither low nor high). A group with fewer than
    ``min_group`` respondents is left out entirely, from its breakdown *and* from the pooled score,
    because its mean could otherwise be worked out from the pooled score and the other groups'. The
    pooled score of an indicator is the mean of the shown groups' means, so each group speaks with one
    voice however many of its members answered (leaders are few, students many).
    """
    sizes: dict[str, int] = {}
    values: dict[str, dict[str, list[int]]] = {}
    skips: dict[str, dict[str, int]] = {}
    for response in responses:
        group = response["group"]
        sizes[group] = sizes.get(group, 0) + 1
        for indicator, raw in response["answers"].items():
            value = check_answer(raw)
            if value in SKIPS:
                key = f"{indicator}:{value}"
                skips.setdefault(group, {})[key] = skips.get(group, {}).get(key, 0) + 1
            else:
                values.setdefault(group, {}).setdefault(indicator, []).append(value)
    shown = sorted(g for g, n in sizes.items() if n >= min_group)
    by_group = {
        g: {ind: {"mean": round(mean(vals), 3), "n": len(vals)} for ind, vals in values.get(g, {}).items()}
        for g in shown
    }
    pooled: dict[str, dict] = {}
    indicators = {ind for g in shown for ind in by_group[g]} | {
        key.split(":")[0] for g in shown for key in skips.get(g, {})
    }
    for ind in sorted(indicators):
        means = [by_group[g][ind]["mean"] for g in shown if ind in by_group[g]]
        pooled[ind] = {
            "score": round(mean(means), 3) if means else None,
            "n": sum(by_group[g][ind]["n"] for g in shown if ind in by_group[g]),
            "groups": len(means),
            "na": sum(skips.get(g, {}).get(f"{ind}:{NOT_APPLICABLE}", 0) for g in shown),
            "declined": sum(skips.get(g, {}).get(f"{ind}:{DECLINED}", 0) for g in shown),
        }
    return QuestionnaireResult(sizes, shown, by_group, pooled)


# --------------------------------------------------------------------------------- objective indicators


def parse_objective(spec: Mapping, raw: str) -> float:
    """Read an entered value against its indicator's unit and range; a ValueError says what is wrong.

    Ratios are percentages 0–100; counts are whole or decimal numbers within the indicator's range;
    yes/no is 'yes' or 'no' (stored as 1.0 / 0.0).
    """
    text = (raw or "").strip().lower().removesuffix("%").strip()
    if spec["kind"] == "boolean":
        if text in ("yes", "y", "1", "是", "true"):
            return 1.0
        if text in ("no", "n", "0", "否", "false"):
            return 0.0
        raise ValueError("expected yes or no")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number in {spec['unit']}") from None
    if not math.isfinite(value) or not spec["min"] <= value <= spec["max"]:
        raise ValueError(f"must be between {spec['min']} and {spec['max']} {spec['unit']}")
    if spec["kind"] == "count" and spec["unit"] not in ("Mbps", "学时") and value != int(value):
        raise ValueError("expected a whole number")
    return value


def banded_level(spec: Mapping, value: float) -> int:
    """A measured value placed in its indicator's bands: four thresholds mark where levels 2..5 begin.
    Yes/no: yes reaches the indicator's ``yes_level``, no stays at level 1."""
    if spec.get("kind") == "boolean":
        return int(spec["yes_level"]) if value >= 1 else 1
    return 1 + sum(1 for threshold in spec["bands"] if value >= threshold)


# ------------------------------------------------------------------------------------------------ experts


def expert_summary(levels: Mapping[object, int], consensus: int | None = None) -> dict | None:
    """The experts' view of one indicator. More than one level between the lowest and highest rating
    flags it for a consensus step; once a consensus level is recorded it is the experts' score."""
    if not levels:
        return None
    values = sorted(int(v) for v in levels.values())
    if any(not 1 <= v <= 5 for v in values):
        raise ValueError("expert levels must be 1–5")
    spread = values[-1] - values[0]
    flagged = spread > DISAGREEMENT
    score = float(consensus) if consensus is not None else round(mean(values), 3)
    return {
        "levels": values,
        "mean": round(mean(values), 3),
        "spread": spread,
        "flagged": flagged,
        "consensus": consensus,
        "unresolved": flagged and consensus is None,
        "score": score,
    }


# ---------------------------------------------------------------------------------------------- combining


def combine(components: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """Weighted mean of the kinds of evidence present; the weights of absent kinds are shared out
    among the present ones (renormalised), so missing evidence neither counts as 0 nor as 5."""
    present = {k: v for k, v in components.items() if v is not None and weights.get(k, 0) > 0}
    total = sum(weights[k] for k in present)
    if not present or total <= 0:
        return None
    return round(sum(weights[k] * v for k, v in present.items()) / total, 3)


def weighted_mean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    usable = [(s, w) for s, w in pairs if s is not None and w > 0]
    total = sum(w for _, w in usable)
    return round(sum(s * w for s, w in usable) / total, 3) if total else None


def roll_up(
    indicator_scores: Mapping[str, float | None],
    indicator_area: Mapping[str, str],
    indicator_weights: Mapping[str, float],
    area_weights: Mapping[str, float],
) -> dict:
    """Indicator scores → area scores (weighted mean of the area's scored indicators) → overall (weighted
    mean of the scored areas). Indicators without any evidence are left out, and listed as such."""
    areas: dict[str, dict] = {}
    for area in area_weights:
        codes = [c for c, a in indicator_area.items() if a == area]
        score = weighted_mean((indicator_scores.get(c), indicator_weights.get(c, 1.0)) for c in codes)
        areas[area] = {
            "score": score,
            "level": level_of(score),
            "percent": percent(score),
            "unscored": [c for c in codes if indicator_scores.get(c) is None],
        }
    overall = weighted_mean((areas[a]["score"], w) for a, w in area_weights.items())
    return {
        "areas": areas,
        "overall": {"score": overall, "level": level_of(overall), "percent": percent(overall)},
    }


# ----------------------------------------------------------------------------------------------- reporting


def group_differences(
    by_group: Mapping[str, Mapping[str, dict]], indicator_area: Mapping[str, str], gap: float = GROUP_GAP
) -> dict[str, dict]:
    """Per area: each shown group's mean agreement over the area's statements, the widest gap between
    groups, and whether that gap is large enough to discuss (SELFIE's leaders-vs-teachers-vs-students view)."""
    out: dict[str, dict] = {}
    for area in sorted(set(indicator_area.values())):
        means = {}
        for group, cells in by_group.items():
            vals = [cell["mean"] for ind, cell in cells.items() if indicator_area.get(ind) == area]
            if vals:
                means[group] = round(mean(vals), 2)
        if means:
            widest = round(max(means.values()) - min(means.values()), 2)
            out[area] = {"groups": means, "gap": widest, "notable": len(means) > 1 and widest >= gap}
    return out


def strengths_and_gaps(
    indicator_scores: Mapping[str, float | None], k: int = 3
) -> tuple[list[str], list[str]]:
    """The k highest and k lowest scored indicators (ties by code, so the report is stable)."""
    scored = sorted(
        ((s, c) for c, s in indicator_scores.items() if s is not None), key=lambda t: (-t[0], t[1])
    )
    strengths = [c for _, c in scored[:k]]
    gaps = [c for _, c in sorted(scored, key=lambda t: (t[0], t[1]))[:k] if c not in strengths]
    return strengths, gaps


def recommendations(indicator_scores: Mapping[str, float | None], limit: int = 8) -> list[dict]:
    """The lowest indicators not yet at the top level, each with the level one up as its target: the
    descriptor of that level is what the institution should do next."""
    scored = sorted(
        ((s, c) for c, s in indicator_scores.items() if s is not None and level_of(s) < 5),
        key=lambda t: (t[0], t[1]),
    )
    return [
        {"indicator": c, "level": level_of(s), "target": level_of(s) + 1, "score": s}
        for s, c in scored[:limit]
    ]


def peer_comparison(
    own: Mapping[str, float | None], peers: list[Mapping[str, float | None]], min_peers: int = MIN_PEERS
) -> dict | None:
    """Where the institution stands among same-type peers, per area: peers' median and quartiles and
    the share of peers below it. None when fewer than ``min_peers`` peers exist (anonymity)."""
    if len(peers) < min_peers:
        return None
    out = {}
    for area, score in own.items():
        values = sorted(p[area] for p in peers if p.get(area) is not None)
        if len(values) < min_peers or score is None:
            continue
        out[area] = {
            "median": round(median(values), 2),
            "q1": round(_quantile(values, 0.25), 2),
            "q3": round(_quantile(values, 0.75), 2),
            "below_share": round(100 * sum(1 for v in values if v < score) / len(values)),
            "peers": len(values),
        }
    return out


def _quantile(sorted_values: list[float], q: float) -> float:
    pos = (len(sorted_values) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def change(previous: Mapping[str, float | None], current: Mapping[str, float | None]) -> dict[str, dict]:
    """Change of each score since the previous diagnosis (both scores, the difference and the levels)."""
    out = {}
    for code in sorted(set(previous) | set(current)):
        before, after = previous.get(code), current.get(code)
        out[code] = {
            "before": before,
            "after": after,
            "delta": round(after - before, 3) if before is not None and after is not None else None,
            "level_before": level_of(before),
            "level_after": level_of(after),
        }
    return out
