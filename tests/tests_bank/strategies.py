"""Hypothesis strategies for valid items (built as raw dicts, then validated, so texts are canonical)."""

from __future__ import annotations

from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from competency.tests_bank.markup import canonical_markup, markup_problems

from .conftest import NODES, ROLES
from .helpers import items_from

# GIFT specials, CSV/XML-sensitive characters, formula triggers, Chinese, entities, newlines
ALPHABET = st.sampled_from(
    list("abcXYZ 019.,;:=+-@~#{}%'\"\\/\n\t&[]()|中文测试题，。？！") + ["&lt;", "&amp;"]
)
SECRET = "§"  # appears only in explanations, never in stems or options


@st.composite
def texts(draw: Any, min_size: int = 1) -> str:
    def plain(min_size: int = 0) -> str:
        return "".join(draw(st.lists(ALPHABET, min_size=min_size, max_size=12)))

    raw = plain(min_size)
    tag = draw(st.sampled_from([None, "b", "em", "code", "sub", "br"]))
    if tag == "br":
        raw += "<br/>" + plain()
    elif tag:
        raw += f"<{tag}>{plain()}</{tag}>{plain()}"
    text = canonical_markup(raw).strip()
    assume(text and not markup_problems(text))
    return text


def irt_for(draw: Any, polytomous_k: int | None) -> dict[str, Any]:
    a = draw(st.floats(0.05, 9.5, allow_nan=False))
    base = {
        "parameterisation": "logistic-D1-irt",
        "a": a,
        "source": draw(st.sampled_from(["provisional", "expert", "calibration:run-2024.1"])),
        "version": draw(st.integers(1, 50)),
    }
    if polytomous_k is None:
        model = draw(st.sampled_from(["2pl", "3pl"]))
        return {
            **base,
            "model": model,
            "b": draw(st.floats(-9.5, 9.5)),
            "c": draw(st.floats(0, 0.49)) if model == "3pl" else None,
            "thresholds": None,
        }
    model = draw(st.sampled_from(["grm", "gpcm"]))
    values = draw(
        st.lists(st.floats(-9.5, 9.5), min_size=polytomous_k - 1, max_size=polytomous_k - 1, unique=True)
    )
    return {
        **base,
        "model": model,
        "b": None,
        "c": None,
        "thresholds": sorted(values) if model == "grm" else values,
    }


def sequence_key(draw: Any, keys: str) -> list[str]:
    """A correct order that is not the written order (the written order would give it away)."""
    order = list(draw(st.permutations(keys)))
    return order[1:] + order[:1] if order == list(keys) else order


@st.composite
def raw_items(draw: Any, index: int = 0) -> dict[str, Any]:
    item_type = draw(st.sampled_from(["single", "multiple", "truefalse", "ordered", "sequence"]))
    node = draw(st.sampled_from(sorted(NODES)))
    level = draw(st.sampled_from(["L1", "L6"] if node.startswith("T") else ["J1", "J3"]))
    raw: dict[str, Any] = {
        "id": f"I-{index}-{draw(st.from_regex(r'[A-Za-z0-9._-]{1,8}', fullmatch=True))}",
        "type": item_type,
        "node": node,
        "level": level,
        "lang": draw(st.sampled_from(["zh-CN", "en", "en-GB"])),
        "tags": draw(st.lists(st.sampled_from(sorted(NODES - {node})), unique=True, max_size=2)),
        "roles": draw(st.lists(st.sampled_from(sorted(ROLES)), unique=True, max_size=2)),
        "status": draw(st.sampled_from(["draft", "pilot", "operational", "retired"])),
        "stem": draw(texts()),
        "explanation": SECRET + draw(texts()),
        "media": draw(
            st.lists(
                st.builds(
                    lambda s, a: {"src": f"img/{s}.png", "alt": a},
                    st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True),
                    st.text("abc 中文", max_size=8),
                ),
                max_size=2,
            )
        ),
    }
    k = None
    if item_type != "truefalse":
        n = draw(st.integers(2, 6))
        keys = "ABCDEF"[:n]
        raw["options"] = [{"key": key, "text": draw(texts())} for key in keys]
        if item_type == "single":
            raw["key"] = draw(st.sampled_from(keys))
        elif item_type == "multiple":
            raw["key"] = sorted(draw(st.sets(st.sampled_from(keys), min_size=1)))
            raw["scoring"] = draw(st.sampled_from(["all_or_nothing", "partial"]))
            if raw["scoring"] == "partial":
                k = len(raw["key"]) + 1
        elif item_type == "sequence":
            raw["key"] = sequence_key(draw, keys)
            raw["scoring"] = draw(st.sampled_from(["all_or_nothing", "partial"]))
            if raw["scoring"] == "partial":
                k = n
        else:
            k = draw(st.integers(2, n))
            categories = list(range(k)) + draw(
                st.lists(st.integers(0, k - 1), min_size=n - k, max_size=n - k)
            )
            categories = draw(st.permutations(categories))
            raw["scores"] = dict(zip(keys, categories, strict=True))
    else:
        raw["key"] = draw(st.booleans())
    raw["irt"] = None if raw["status"] == "draft" and draw(st.booleans()) else irt_for(draw, k)
    return raw


@st.composite
def item_lists(draw: Any, max_size: int = 4) -> list:
    n = draw(st.integers(1, max_size))
    return items_from([draw(raw_items(index=i)) for i in range(n)])
