"""What the demo item generators share: the IRT block, the authoring calls, the option shuffle, the writer.

The teacher bank derives its parameters and option order from hashes of the item id; the student and
job banks are authored with hand-set parameters through `Authoring` and shuffled by `arrange` with a
fixed seed. Either way the output is deterministic, so the committed JSON can be checked byte for byte
(`python -m tools.demo_content --check`).
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable


def irt(model: str, a: float, b: float | None, c: float | None = None, thresholds=None) -> dict:
    """The provisional parameter block of an authored item ("competency.items/1")."""
    return {
        "model": model,
        "a": a,
        "b": b,
        "c": c,
        "thresholds": thresholds,
        "parameterisation": "logistic-D1-irt",
        "source": "provisional",
        "version": 1,
    }


def items_document(bank: str, items: list[dict]) -> str:
    """The file text of a bank, exactly as committed (two-space JSON, Chinese unescaped, final newline)."""
    return to_json({"format": "competency.items/1", "bank": bank, "items": items})


def to_json(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _options(texts: list[str]) -> list[dict]:
    return [{"key": k, "text": t} for k, t in zip("ABCD", texts, strict=True)]


class Authoring:
    """The four authoring calls of a hand-parameterised bank, collecting into `items`.

    `base(kind, *head, stem)` makes an item's common fields; `head` is what each call starts with
    (node and level, and for job items the roles between them), so the calls read
    ``single(*head, a, b, stem, options, key, explanation)`` in both banks.
    """

    def __init__(self, base: Callable[..., dict]):
        self.base = base
        self.items: list[dict] = []

    def single(self, *args, model: str = "3pl") -> None:
        *head, a, b, stem, options, key, explanation = args
        item = self.base("single", *head, stem)
        item.update(options=_options(options), key=key, explanation=explanation)
        item["irt"] = irt(model, a, b, 0.2 if model == "3pl" else None)
        self.items.append(item)

    def multiple(self, *args) -> None:
        *head, a, b, stem, options, keys, explanation = args
        item = self.base("multiple", *head, stem)
        item.update(
            options=_options(options), key=list(keys), scoring="all_or_nothing", explanation=explanation
        )
        item["irt"] = irt("2pl", a, b)
        self.items.append(item)

    def truefalse(self, *args) -> None:
        *head, a, b, stem, key, explanation = args
        item = self.base("truefalse", *head, stem)
        item.update(key=key, explanation=explanation)
        item["irt"] = irt("2pl", a, b)
        self.items.append(item)

    def ordered(self, *args) -> None:
        """Scenario judgement: scores lists the category (0..3) of options A..D.

        The explanation names every option that earns part of the credit as "{B} 项" (its authored
        letter in braces) and says why it is partly right; `arrange` rewrites the braces to the letter
        the option has after shuffling.
        """
        *head, a, thresholds, stem, options, scores, explanation = args
        item = self.base("ordered", *head, stem)
        item.update(
            options=_options(options), scores=dict(zip("ABCD", scores, strict=True)), explanation=explanation
        )
        item["irt"] = irt("grm", a, None, None, list(thresholds))
        self.items.append(item)

    def finish(self, seed: int, prefix: str) -> list[dict]:
        """The items shuffled (`arrange`), numbered per indicator (``{prefix}-6.3-01``) and operational.

        Works on copies, so building twice gives the same result.
        """
        items = copy.deepcopy(self.items)
        arrange(items, seed)
        counters: dict[str, int] = {}
        for item in items:
            n = counters[item["node"]] = counters.get(item["node"], 0) + 1
            item["id"] = f"{prefix}-{item['node'][1:]}-{n:02d}"
            item["status"] = "operational"
        return items


def arrange(items: list[dict], seed: int) -> None:
    """Shuffle options so that keys spread evenly over A–D (items are authored with the key first).

    Single-choice keys, and the best options of scenario items, are dealt from shuffled decks of
    the four positions, so each letter is the key about equally often; a fixed seed keeps the
    committed JSON reproducible.
    """
    rng = random.Random(seed)
    deck: list[int] = []
    best_rng = random.Random(seed + 1)  # its own stream, so single-choice arrangements stay as they were
    best_deck: list[int] = []
    for item in items:
        if "options" not in item:
            continue
        texts = [o["text"] for o in item["options"]]
        order = list(range(4))  # order[new position] = old position
        if item["type"] == "single":
            if not deck:
                deck = rng.sample(range(4), 4)
            old_key = "ABCD".index(item["key"])
            order = [i for i in range(4) if i != old_key]
            rng.shuffle(order)
            order.insert(deck.pop(), old_key)
        else:
            rng.shuffle(order)
            if item["type"] == "ordered":
                # Scenario items deal the best option's place from a deck too, so it is not guessable.
                if not best_deck:
                    best_deck = best_rng.sample(range(4), 4)
                best = max(range(4), key=lambda i: item["scores"]["ABCD"[i]])
                order.remove(best)
                order.insert(best_deck.pop(), best)
        new_letter = {"ABCD"[old]: "ABCD"[new] for new, old in enumerate(order)}
        item["explanation"] = _letters(item["explanation"], new_letter)
        item["options"] = [{"key": "ABCD"[new], "text": texts[old]} for new, old in enumerate(order)]
        if item["type"] == "single":
            item["key"] = new_letter[item["key"]]
        elif item["type"] == "multiple":
            item["key"] = sorted(new_letter[k] for k in item["key"])
        else:
            item["scores"] = dict(sorted((new_letter[k], v) for k, v in item["scores"].items()))


def _letters(text: str, new_letter: dict[str, str]) -> str:
    """The explanation with each "{B}" (an option's authored letter) replaced by its shuffled letter."""
    out = re.sub(r"\{([A-D])\}", lambda m: new_letter[m.group(1)], text)
    if "{" in out or "}" in out:
        raise ValueError(f"unknown option reference in explanation: {text}")
    return out
