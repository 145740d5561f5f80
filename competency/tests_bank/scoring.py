"""Scoring an answer to a category 0..K−1, and checking answers that arrive through the API.

Accepted answers (JSON values):

* single: an option key, ``"B"``
* multiple: a non-empty list of distinct option keys, ``["A", "C"]`` (order does not matter)
* truefalse: ``true``/``false``, or the delivered option keys ``"true"``/``"false"``
* ordered: the option key, ``"C"``, or the option's 0-based position in the delivered option list
  (the "category number" of DESIGN.md is this position, never the score: scores stay secret)
* sequence: a list of every option key, once each, in the taker's order, ``["C", "A", "D", "B"]``

Multiple choice: ``all_or_nothing`` scores 1 when the chosen set equals the key, else 0;
``partial`` scores right minus wrong, floored at 0: max(0, |chosen ∩ key| − |chosen \\ key|),
so categories run 0..|key| (K = |key| + 1, matching its GRM/GPCM thresholds).

Scenario (ordered) items: each option carries a fixed category in ``scores``, the best option the top
one (K − 1). The categories are graded judgements of quality calibrated as a GRM item (its thresholds say
how much ability each category takes), not fractions of a right answer: a wrong option earns a category
above 0 only when it is partly right, and the explanation must name it by letter ("B 项…", "选项 B",
"option B") and say why. The ``partial-credit`` item-writing check
(:func:`competency.tests_bank.item_writing.partial_credit_warnings`) warns about any partly credited
option the explanation leaves out. Changing an option's credit changes the item's categories and needs
new thresholds, so it is an edit of the item, not of the scoring.

Sequence: ``all_or_nothing`` scores 1 when the order equals the key, else 0; ``partial`` counts the
correct adjacent pairs: the places j where the option the taker put at j + 1 is the one that comes
directly after answer[j] in the key. Categories run 0..n−1 for n options (K = n), n−1 only for the
key itself, and every category is reachable (the key cut into blocks, written in reverse block
order, scores exactly the pairs inside the blocks). Counting options in their correct position
would be harsher on one misplaced step (moving the first step to the end scores 0) and could
never score n−1, leaving a GRM category unused.
"""

from __future__ import annotations

from typing import Any

from competency.tests_bank.schema import Item, ItemType, Scoring

Answer = str | frozenset[str] | bool | tuple[str, ...]


class AnswerError(ValueError):
    """An answer the item cannot take; ``field`` names the offending request field."""

    def __init__(self, message: str, field: str = "answer") -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def validate_answer(item: Item, answer: Any) -> Answer:
    """The answer in canonical form (key, frozenset of keys, bool, or tuple of keys in order);
    :class:`AnswerError` if invalid."""
    keys = item.option_keys
    if item.type is ItemType.SEQUENCE:
        return _sequence_answer(keys, answer)
    if item.type is ItemType.TRUEFALSE:
        if isinstance(answer, bool):
            return answer
        if answer in ("true", "false"):
            return answer == "true"
        raise AnswerError("answer must be true or false")
    if item.type is ItemType.MULTIPLE:
        if not isinstance(answer, list | tuple):
            raise AnswerError("answer must be a list of option keys")
        if not answer:
            raise AnswerError("choose at least one option")
        if not all(isinstance(k, str) for k in answer):
            raise AnswerError("answer must be a list of option keys")
        unknown = [k for k in answer if k not in keys]
        if unknown:
            raise AnswerError(f"unknown option key(s): {', '.join(unknown)}")
        if len(set(answer)) != len(answer):
            raise AnswerError("an option is chosen twice")
        return frozenset(answer)
    if item.type is ItemType.ORDERED and isinstance(answer, int) and not isinstance(answer, bool):
        if not 0 <= answer < len(keys):
            raise AnswerError(f"option position must be 0..{len(keys) - 1}")
        return keys[answer]
    if not isinstance(answer, str):
        raise AnswerError("answer must be one option key")
    if answer not in keys:
        raise AnswerError(f"unknown option key: {answer}")
    return answer


def _sequence_answer(keys: tuple[str, ...], answer: Any) -> tuple[str, ...]:
    if not isinstance(answer, list | tuple) or not all(isinstance(k, str) for k in answer):
        raise AnswerError("answer must be a list of every option key in your order")
    unknown = [k for k in answer if k not in keys]
    if unknown:
        raise AnswerError(f"unknown option key(s): {', '.join(unknown)}")
    if len(set(answer)) != len(answer):
        raise AnswerError("an option is listed twice")
    missing = [k for k in keys if k not in answer]
    if missing:
        raise AnswerError(f"put every option in the order; missing: {', '.join(missing)}")
    return tuple(answer)


def adjacent_pairs(order: tuple[str, ...], key: tuple[str, ...]) -> int:
    """How many neighbours in ``order`` are also direct neighbours, in that order, in ``key``."""
    follows = dict(zip(key, key[1:], strict=False))
    return sum(follows.get(first) == second for first, second in zip(order, order[1:], strict=False))


def max_category(item: Item) -> int:
    """K − 1: the highest category the item can score."""
    if item.type is ItemType.ORDERED:
        return max(item.score_map.values())
    if item.type is ItemType.MULTIPLE and item.scoring is Scoring.PARTIAL:
        return len(item.key or ())  # type: ignore[arg-type]
    if item.type is ItemType.SEQUENCE and item.scoring is Scoring.PARTIAL:
        return len(item.options) - 1
    return 1


def score_answer(item: Item, answer: Any) -> int:
    """The category 0..K−1 earned by ``answer`` (validated first)."""
    value = validate_answer(item, answer)
    if item.type is ItemType.ORDERED:
        return item.score_map[value]  # type: ignore[index]
    if item.type is ItemType.MULTIPLE:
        key = frozenset(item.key or ())  # type: ignore[arg-type]
        chosen: frozenset[str] = value  # type: ignore[assignment]
        if item.scoring is Scoring.PARTIAL:
            return max(0, len(chosen & key) - len(chosen - key))
        return int(chosen == key)
    if item.type is ItemType.SEQUENCE:
        order: tuple[str, ...] = value  # type: ignore[assignment]
        key_order = tuple(item.key or ())  # type: ignore[arg-type]
        if item.scoring is Scoring.PARTIAL:
            return adjacent_pairs(order, key_order)
        return int(order == key_order)
    return int(value == item.key)
