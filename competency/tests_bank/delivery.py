"""The one function that builds what a client sees of an item during a test.

It copies fields by whitelist: id, type, stem, option keys and texts. Never the key, the category
scores, the explanation, the IRT parameters, tags, level or status. Stem and option texts are
passed through nh3 again (defence in depth), so they are safe HTML fragments in the allowed subset.
Options keep their authored order (no shuffling), so an ordered item's "category number" answer
(the option position) means the same on client and server. For a sequence item the authored order
is the starting order the taker rearranges; validation refuses an item whose authored order is the
correct one, so the payload never gives the key away.
"""

from __future__ import annotations

from typing import Any

from competency.tests_bank.markup import sanitise
from competency.tests_bank.schema import Item, ItemType

TRUEFALSE_LABELS = {"zh": ("正确", "错误"), "en": ("True", "False")}


def truefalse_labels(lang: str) -> tuple[str, str]:
    return TRUEFALSE_LABELS.get(lang.split("-")[0].lower(), TRUEFALSE_LABELS["en"])


def delivery_payload(
    item: Item, position: int, dimension: str, *, include_media: bool = False
) -> dict[str, Any]:
    """``{item_id, position, type, stem, options: [{key, text}], dimension}`` (+ ``media`` if asked)."""
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise ValueError("position must be a whole number ≥ 0")
    if item.type is ItemType.TRUEFALSE:
        yes, no = truefalse_labels(item.lang)
        options = [{"key": "true", "text": yes}, {"key": "false", "text": no}]
    else:
        options = [{"key": str(option.key), "text": sanitise(option.text)} for option in item.options]
    payload: dict[str, Any] = {
        "item_id": str(item.id),
        "position": position,
        "type": str(item.type),
        "stem": sanitise(item.stem),
        "options": options,
        "dimension": str(dimension),
    }
    if include_media:
        payload["media"] = [{"src": m.src, "alt": m.alt} for m in item.media]
    return payload
