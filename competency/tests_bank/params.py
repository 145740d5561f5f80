"""IRT parameters of items as the adaptive engine wants them, and versioning on change."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from competency.tests_bank.schema import POLYTOMOUS_MODELS, IrtParams, Item


def engine_params(items: Sequence[Item]) -> dict[str, Any]:
    """Lists in the ``competency.irt`` params layout, one entry per item, in order.

    The one place item parameters become engine arrays: the CAT bank (``Bank.from_arrays`` with ids and
    metadata added) and grading's per-dimension ``item_set`` are both built from it (services/pools).

    ``a``; ``b`` (NaN for grm/gpcm); ``c`` (0 unless 3pl); ``thresholds`` rows NaN-padded to the
    widest item's K−1 (all NaN for 2pl/3pl); ``model`` names; ``item_id``. Pass through
    ``numpy.asarray`` for the engine. Items without parameters (drafts) are refused.
    """
    missing = [item.id for item in items if item.irt is None]
    if missing:
        raise ValueError(f"items without IRT parameters: {', '.join(missing)}")
    params = [item.irt for item in items]
    width = max((len(p.thresholds or ()) for p in params if p is not None), default=0)
    out: dict[str, Any] = {"item_id": [], "model": [], "a": [], "b": [], "c": [], "thresholds": []}
    for item, p in zip(items, params, strict=True):
        assert p is not None
        thresholds = list(p.thresholds or ())
        out["item_id"].append(item.id)
        out["model"].append(str(p.model))
        out["a"].append(p.a)
        out["b"].append(math.nan if p.model in POLYTOMOUS_MODELS or p.b is None else p.b)
        out["c"].append(p.c or 0.0)
        out["thresholds"].append(thresholds + [math.nan] * (width - len(thresholds)))
    return out


def next_version(current: IrtParams, proposed: IrtParams) -> IrtParams:
    """``current`` if ``proposed`` equals it apart from the version; else ``proposed`` as version + 1.

    Attempts keep the version they were scored with, so any change (values, model, source or
    parameterisation) must produce a new version rather than edit the old one in place.
    """
    if replace(proposed, version=current.version) == current:
        return current
    return replace(proposed, version=current.version + 1)


def with_params(item: Item, proposed: IrtParams) -> Item:
    """``item`` carrying ``proposed`` parameters, versioned by :func:`next_version`."""
    if item.irt is None:
        return replace(item, irt=replace(proposed, version=max(1, proposed.version)))
    updated = next_version(item.irt, proposed)
    return item if updated is item.irt else replace(item, irt=updated)
