"""Scoring an answer to a category 0..K−1, and checking answers that arrive through the API.

Accepted answers (JSON values):

* single: an option key, ``"B"``
* multiple: a non-empty list of distinct option keys, ``["A", "C"]`` (order does not matter)
* truefalse: ``true``/``false``, or the delivered option keys ``"true"``/``"false"``
* ordered: the option key, ``"C"``, or the option's 0-based position in the delivered option list
  (the "category number" of DESIGN.md is this position, never the score: scores stay secret)

Multiple choice: ``all_or_nothing`` scores 1 when the chosen set equals the key, else 0;
``partial`` scores right minus wrong, floored at 0: max(0, |chosen ∩ key| − |chosen \\ key|),
so categories run 0..|key| (K = |key| + 1, matching its GRM/GPCM thresholds).
"""

from __future__ import annotations

from typing import Any

from competency.tests_bank.schema import Item, ItemType, Scoring

Answer = str | frozenset[str] | bool


class AnswerError(ValueError):
    """An answer the item cannot take; ``field`` names the offending request field."""

    def __init__(self, message: str, field: str = "answer") -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def validate_answer(item: Item, answer: Any) -> Answer:
    """The answer in canonical form (key, frozenset of keys, or bool); :class:`AnswerError` if invalid."""
    keys = item.option_keys
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


def max_category(item: Item) -> int:
    """K − 1: the highest category the item can score."""
    if item.type is ItemType.ORDERED:
        return max(item.score_map.values())
    if item.type is ItemType.MULTIPLE and item.scoring is Scoring.PARTIAL:
        return len(item.key or ())  # type: ignore[arg-type]
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
    return int(value == item.key)
