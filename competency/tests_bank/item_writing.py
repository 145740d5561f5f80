"""Item-writing checks: warnings about a bank that is valid but badly written (pure; no Flask, no DB).

Validation (:mod:`competency.tests_bank.validation`) refuses items that cannot be used. These checks
look at a whole bank for flaws a test-wise taker can exploit or a reviewer would send back; they
never block an import, they warn. Each warning names the bank, the item (or ``"bank"``), a check
code and a plain message:

``key-longest``
    Single-choice and scenario items: the key (a scenario item's best option) is strictly the longest
    option far more often than chance. One-sided exact binomial test of the count against p = 1/k
    (k options; a group mixing k uses the mean of 1/k, a binomial with the same mean and a larger
    variance than the true Poisson-binomial, so the test errs towards silence); warns at p < 0.01.
``key-position``
    Keys piled on one position: goodness of fit of key positions to uniform, per item type and
    number of options. Pearson's chi-square when every expected count is at least 5 (Cochran's rule),
    otherwise the exact multinomial test; warns at p < 0.01, and names any position never keyed once
    n ≥ 5k (then an empty position has probability below k·(1 − 1/k)^(5k) ≈ 1.3 % for k = 4).
``sequence-explanation``
    Sequence items whose explanation names an order other than the key: by option letters written as a
    run ("B → C → D → A"; "B、C、D、A" or "BCDA" only where the explanation speaks of an order)
    or by wording taken from the options. Conservative: an option counts as mentioned only through
    a stretch of its text (two or more characters) found in no other option and not in the stem (the
    longest such stretch places it), placements must not overlap, and at least three options must be
    placed.
``duplicate-stem``
    Stems equal after NFKC, case folding and removing markup, whitespace and punctuation, within a
    bank and (:func:`duplicate_stem_warnings`) across banks.
``partial-credit``
    Scenario (ordered) items: every option that earns part of the credit (0 < category < top) must be
    named in the explanation by its letter, "B 项" / "选项 B" / "option B", saying why it is partly
    right (:data:`PARTIAL_CREDIT_RULE`). A wrong choice earns credit only where the rationale says so.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from scipy import stats

from competency.tests_bank.schema import Item, ItemBank, ItemType

ALPHA = 0.01
SCENARIO = "scenario"  # the ordered (scenario-judgement) items, as authors call them
PARTIAL_CREDIT_RULE = (
    "name each partly credited option in the explanation by its letter "
    "(“B 项…” or “选项 B…”, “option B …” in English) and say why it is partly right"
)

_TAG = re.compile(r"<[^>]*>")
_SEPARATOR = r"\s*(?:→|->|=>|⟶|＞|>|、|，|,|;|；|-|–|—)\s*"
_LETTER_RUN = re.compile(r"(?<![A-Za-z])[A-F](?:" + _SEPARATOR + r"[A-F]){2,5}(?![A-Za-z])")
_LETTER_BLOCK = re.compile(r"(?<![A-Za-z])[A-F]{3,6}(?![A-Za-z])")
_ARROW = re.compile(r"→|->|=>|⟶|＞|>")
_ORDER_WORDS = re.compile(r"顺序|次序|依次|排列|步骤|(?i:\border\b|\bsequence\b)")
_WORD_RUN = re.compile(r"\w+")
_MAX_PIECE = 8  # longest stretch of option text looked for in an explanation


@dataclass(frozen=True)
class ItemWarning:
    """One item-writing warning: ``item`` is an item id, or ``"bank"`` for a finding about the bank.

    ``message`` is plain English for logs and the command line; ``details`` holds the same facts as
    values (counts, p-values, option letters, the other item) so a page can word them in its own language.
    """

    bank: str
    item: str
    check: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"{self.bank}: {self.item}: [{self.check}] {self.message}"


@dataclass(frozen=True)
class KeyLengthStats:
    """How often the key is the longest option, in one group of items ("single" or "scenario")."""

    group: str
    n: int
    strictly_longest: int
    longest_or_tied: int
    chance: float  # expected rate of "strictly longest" if length told nothing: mean of 1/k
    p_value: float  # one-sided exact binomial, P(X ≥ strictly_longest)

    @property
    def rate(self) -> float:
        return self.strictly_longest / self.n if self.n else 0.0

    @property
    def tied_rate(self) -> float:
        return self.longest_or_tied / self.n if self.n else 0.0

    @property
    def flagged(self) -> bool:
        return self.n > 0 and self.p_value < ALPHA and self.rate > self.chance


@dataclass(frozen=True)
class KeyPositionStats:
    """Key positions of one group of items with the same type and number of options."""

    group: str
    options: int
    counts: tuple[int, ...]  # keys at A, B, C…
    p_value: float
    method: str  # "chi-square" | "exact"

    @property
    def n(self) -> int:
        return sum(self.counts)

    @property
    def empty_positions(self) -> tuple[str, ...]:
        """Positions never keyed, reported only when n ≥ 5k (an empty one is then unlikely by chance)."""
        if self.n < 5 * self.options:
            return ()
        return tuple(chr(ord("A") + i) for i, count in enumerate(self.counts) if count == 0)

    @property
    def flagged(self) -> bool:
        return self.p_value < ALPHA or bool(self.empty_positions)


# -- text helpers ------------------------------------------------------------------------------
def plain_text(markup: str) -> str:
    """Stem or option markup as the reader sees it: tags dropped, entities resolved, NFKC."""
    return unicodedata.normalize("NFKC", html.unescape(_TAG.sub(" ", markup)))


def option_length(text: str) -> int:
    """Visible length of an option: characters of its plain text, whitespace not counted."""
    return sum(not ch.isspace() for ch in plain_text(text))


def normalised_stem(stem: str) -> str:
    """The stem reduced for duplicate detection: NFKC, case-folded, no markup, whitespace or punctuation."""
    text = plain_text(stem).casefold()
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "Z", "C")))


def _group(item: Item) -> str | None:
    if item.type is ItemType.SINGLE:
        return "single"
    if item.type is ItemType.ORDERED:
        return SCENARIO
    return None


def key_option(item: Item) -> str | None:
    """The key of a single-choice item, the best (unique top-scored) option of a scenario item."""
    if item.type is ItemType.SINGLE:
        return item.key if isinstance(item.key, str) else None
    if item.type is ItemType.ORDERED and item.scores:
        top = max(score for _, score in item.scores)
        best = [key for key, score in item.scores if score == top]
        return best[0] if len(best) == 1 else None
    return None


# -- (a) the key is the longest option ----------------------------------------------------------
def key_length_stats(items: Iterable[Item]) -> list[KeyLengthStats]:
    """Per group ("single", "scenario"), how often the key is strictly / at least tied the longest."""
    tallies: dict[str, list[tuple[bool, bool, int]]] = defaultdict(list)
    for item in items:
        group, key = _group(item), key_option(item)
        if group is None or key is None or len(item.options) < 2:
            continue
        lengths = {o.key: option_length(o.text) for o in item.options}
        longest_other = max(length for k, length in lengths.items() if k != key)
        tallies[group].append((lengths[key] > longest_other, lengths[key] >= longest_other, len(lengths)))
    out = []
    for group in sorted(tallies):
        rows = tallies[group]
        n = len(rows)
        strictly = sum(r[0] for r in rows)
        chance = sum(1 / r[2] for r in rows) / n
        p_value = float(stats.binomtest(strictly, n, chance, alternative="greater").pvalue)
        out.append(KeyLengthStats(group, n, strictly, sum(r[1] for r in rows), chance, p_value))
    return out


# -- (b) key positions ---------------------------------------------------------------------------
def _exact_multinomial_p(counts: Sequence[int]) -> float:
    """P(an outcome no more likely than ``counts``) under equal cell probabilities (small n only)."""
    n, k = sum(counts), len(counts)
    log_base = -n * math.log(k)

    def log_p(cells: Sequence[int]) -> float:
        return math.lgamma(n + 1) - sum(math.lgamma(c + 1) for c in cells) + log_base

    observed = log_p(counts)
    total = 0.0
    for bars in itertools.combinations(range(n + k - 1), k - 1):
        cells = [b - a - 1 for a, b in zip((-1, *bars), (*bars, n + k - 1), strict=True)]
        lp = log_p(cells)
        if lp <= observed + 1e-9:
            total += math.exp(lp)
    return min(1.0, total)


def key_position_stats(items: Iterable[Item]) -> list[KeyPositionStats]:
    """Per (group, number of options): how many keys sit at each position, and the fit to uniform."""
    counts: dict[tuple[str, int], list[int]] = {}
    for item in items:
        group, key = _group(item), key_option(item)
        keys = [o.key for o in item.options]
        if group is None or key is None or key not in keys:
            continue
        cells = counts.setdefault((group, len(keys)), [0] * len(keys))
        cells[keys.index(key)] += 1
    out = []
    for (group, k), cells in sorted(counts.items()):
        n = sum(cells)
        if n / k >= 5:
            p_value, method = float(stats.chisquare(cells).pvalue), "chi-square"
        else:
            p_value, method = _exact_multinomial_p(cells), "exact"
        out.append(KeyPositionStats(group, k, tuple(cells), p_value, method))
    return out


# -- (c) sequence explanations ---------------------------------------------------------------------
def _letter_order(explanation: str, keys: Sequence[str]) -> tuple[str, ...] | None:
    """An order written as a run of option letters, if the explanation has exactly one.

    Letters joined by arrows always state an order; a plain list ("B、C、D" or "BCD") counts only
    when the explanation speaks of an order, since "A、B、C 都需要" is no order at all.
    """
    text = plain_text(explanation)
    speaks_of_order = _ORDER_WORDS.search(text) is not None
    runs = set()
    for pattern in (_LETTER_RUN, _LETTER_BLOCK):
        for match in pattern.finditer(text):
            if not speaks_of_order and not _ARROW.search(match.group()):
                continue
            letters = tuple(re.findall(r"[A-F]", match.group()))
            if len(set(letters)) == len(letters) >= 3 and all(letter in keys for letter in letters):
                runs.add(letters)
    return runs.pop() if len(runs) == 1 else None


def _pieces(text: str) -> set[str]:
    """Every stretch of 2.._MAX_PIECE word characters of ``text`` (not crossing punctuation)."""
    out = set()
    for run in _WORD_RUN.findall(text):
        for size in range(2, min(len(run), _MAX_PIECE) + 1):
            out.update(run[i : i + size] for i in range(len(run) - size + 1))
    return {piece for piece in out if not piece.isdigit()}


def _mention_order(item: Item) -> tuple[str, ...]:
    """Options placed in the explanation through wording found in that option only, in text order."""
    explanation = plain_text(item.explanation).casefold()
    stem = plain_text(item.stem).casefold()
    texts = {o.key: plain_text(o.text).casefold() for o in item.options}
    spans: dict[str, tuple[int, int]] = {}
    for key, text in texts.items():
        # Wording shared with the stem names the task, not this step; shared with another
        # option it names neither for sure.
        found = [
            (-len(piece), explanation.find(piece), piece)
            for piece in _pieces(text)
            if piece in explanation
            and piece not in stem
            and not any(piece in texts[k] for k in texts if k != key)
        ]
        if found:
            size, start, _ = min(found)
            spans[key] = (start, start - size)
    clashing = {
        a
        for a, b in itertools.permutations(spans, 2)
        if spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]
    }
    placed = sorted((span[0], key) for key, span in spans.items() if key not in clashing)
    return tuple(key for _, key in placed)


def explained_order(item: Item) -> tuple[str, ...] | None:
    """The order of ≥ 3 options a sequence item's explanation names, or None if it names none clearly."""
    if item.type is not ItemType.SEQUENCE or not item.explanation:
        return None
    keys = [o.key for o in item.options]
    order = _letter_order(item.explanation, keys) or _mention_order(item)
    return order if len(order) >= 3 else None


def sequence_explanation_warning(item: Item, bank: str) -> ItemWarning | None:
    order = explained_order(item)
    key = tuple(item.key or ())  # type: ignore[arg-type]
    if order is None:
        return None
    expected = tuple(k for k in key if k in order)
    if order == expected:
        return None
    return ItemWarning(
        bank,
        item.id,
        "sequence-explanation",
        f"the explanation puts options in the order {', '.join(order)} but the key has "
        f"{', '.join(expected)} (key {', '.join(key)})",
        {"explained": order, "key": key},
    )


# -- (d) duplicate stems -------------------------------------------------------------------------
def duplicate_stem_warnings(banks: Sequence[ItemBank]) -> list[ItemWarning]:
    """Every item whose normalised stem repeats an earlier item's, in the same bank or another."""
    first: dict[str, tuple[str, str]] = {}
    out = []
    for bank in banks:
        for item in bank.items:
            stem = normalised_stem(item.stem)
            if not stem:
                continue
            if stem in first:
                other_bank, other_id = first[stem]
                where = other_id if other_bank == bank.name else f"{other_id} in bank {other_bank}"
                out.append(
                    ItemWarning(
                        bank.name,
                        item.id,
                        "duplicate-stem",
                        f"same stem as {where}",
                        {"other_bank": other_bank, "other_item": other_id},
                    )
                )
            else:
                first[stem] = (bank.name, item.id)
    return out


# -- partial credit ------------------------------------------------------------------------------
def _names_option(explanation: str, letter: str) -> bool:
    text = plain_text(explanation)
    pattern = rf"(?<![A-Za-z]){letter}\s*项|选项\s*{letter}(?![A-Za-z])|(?i:\boption)\s+{letter}\b"
    return re.search(pattern, text) is not None


def partial_credit_warnings(item: Item, bank: str) -> list[ItemWarning]:
    """A scenario option earning part of the credit must be named in the explanation as partly right."""
    if item.type is not ItemType.ORDERED or not item.scores:
        return []
    top = max(score for _, score in item.scores)
    missing = [
        key for key, score in item.scores if 0 < score < top and not _names_option(item.explanation, key)
    ]
    if not missing:
        return []
    return [
        ItemWarning(
            bank,
            item.id,
            "partial-credit",
            f"option(s) {', '.join(missing)} earn partial credit but the explanation does not say why; "
            + PARTIAL_CREDIT_RULE,
            {"options": tuple(missing)},
        )
    ]


# -- everything ---------------------------------------------------------------------------------
def _bank_warnings(bank: ItemBank) -> list[ItemWarning]:
    out = []
    for s in key_length_stats(bank.items):
        if s.flagged:
            out.append(
                ItemWarning(
                    bank.name,
                    "bank",
                    "key-longest",
                    f"{s.group}: the key is strictly the longest option in {s.strictly_longest} of {s.n} "
                    f"items ({s.rate:.0%}; chance {s.chance:.0%}; binomial p = {s.p_value:.2g}); longest "
                    f"or tied in {s.longest_or_tied} ({s.tied_rate:.0%}). Make distractors as specific "
                    "as the key, or trim the key",
                    asdict(s),
                )
            )
    for s in key_position_stats(bank.items):
        if s.flagged:
            shown = ", ".join(f"{chr(ord('A') + i)} {c}" for i, c in enumerate(s.counts))
            empty = f"; never keyed: {', '.join(s.empty_positions)}" if s.empty_positions else ""
            out.append(
                ItemWarning(
                    bank.name,
                    "bank",
                    "key-position",
                    f"{s.group} ({s.options} options): keys by position {shown} "
                    f"({s.method} p = {s.p_value:.2g}){empty}. Spread keys evenly over the positions",
                    {**asdict(s), "empty_positions": s.empty_positions},
                )
            )
    for item in bank.items:
        if item.type is ItemType.SEQUENCE:
            warning = sequence_explanation_warning(item, bank.name)
            if warning is not None:
                out.append(warning)
        out.extend(partial_credit_warnings(item, bank.name))
    return out


def item_writing_checks(bank: ItemBank) -> list[ItemWarning]:
    """Every item-writing warning for one bank (duplicate stems within the bank included)."""
    return _bank_warnings(bank) + duplicate_stem_warnings([bank])


def banks_item_writing_checks(banks: Sequence[ItemBank]) -> list[ItemWarning]:
    """Every warning for several banks, duplicate stems checked across all of them."""
    out = [w for bank in banks for w in _bank_warnings(bank)]
    return out + duplicate_stem_warnings(banks)


def stats_table(banks: Sequence[ItemBank]) -> list[str]:
    """Plain-text lines with the figures behind key-longest and key-position, one bank at a time."""
    lines = []
    for bank in banks:
        for s in key_length_stats(bank.items):
            lines.append(
                f"{bank.name:14} {s.group:9} key strictly longest {s.strictly_longest:3}/{s.n:<3} "
                f"({s.rate:5.1%}, chance {s.chance:.0%}, binomial p = {s.p_value:.2g}); "
                f"longest or tied {s.longest_or_tied}/{s.n} ({s.tied_rate:.1%})"
            )
        for p in key_position_stats(bank.items):
            lines.append(
                f"{bank.name:14} {p.group:9} key positions ({p.options} options) {list(p.counts)} "
                f"{p.method} p = {p.p_value:.3g}"
            )
    return lines
