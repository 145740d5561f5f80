"""Validation of raw item records: every problem is collected, then the import is refused whole.

Pure: the caller passes the known node codes and job-role codes (from ``competency.graph``).
Field paths in problems follow the JSON format ("irt.a", "options[2].text", "scores.C"); readers
of other formats translate them to their own column names through ``RawItem.labels``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from competency.tests_bank.markup import canonical_markup, markup_problems
from competency.tests_bank.problems import BankImportError, ImportProblem, RawBank, RawItem
from competency.tests_bank.schema import (
    OPTION_KEYS,
    PARAMETERISATION,
    SCORED_TYPES,
    IrtModel,
    Item,
    ItemBank,
    ItemStatus,
    ItemType,
    Scoring,
)

# A reader puts this in place of a value it could not parse (and has reported already).
REPORTED = object()

ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LANG_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
SOURCE_PATTERN = re.compile(r"^(provisional|expert|calibration:[A-Za-z0-9._:-]{1,64})$")
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
MEDIA_HTTPS = re.compile(r"^https://[^\s<>\"']+$")
MEDIA_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$")

TEACHER_LEVELS = ("L1", "L2", "L3", "L4", "L5", "L6")
JOB_LEVELS = ("J1", "J2", "J3")
MAX_OPTIONS = len(OPTION_KEYS)
MAX_A = 10.0  # plausibility bound on slopes (logistic, D = 1)
MAX_LOCATION = 10.0  # plausibility bound on |b| and |thresholds|

ITEM_FIELDS = frozenset(
    {
        "id",
        "type",
        "node",
        "tags",
        "roles",
        "lang",
        "level",
        "status",
        "stem",
        "options",
        "key",
        "scoring",
        "scores",
        "explanation",
        "media",
        "irt",
    }
)
IRT_FIELDS = frozenset({"model", "a", "b", "c", "thresholds", "parameterisation", "source", "version"})


def canonical_number(value: float) -> float:
    """``value`` to 12 significant digits, so that every format (XLSX stores 16) keeps it exactly."""
    return float(f"{value:.12g}")


def levels_for_node(node: str) -> tuple[str, ...]:
    """Intended-level codes on the scale of ``node``: teacher nodes L1..L6, student/job nodes J1..J3."""
    if node.startswith("T"):
        return TEACHER_LEVELS
    if node.startswith("S"):
        return JOB_LEVELS
    return TEACHER_LEVELS + JOB_LEVELS


class _Checker:
    """Checks one raw item; problems go to ``report(field, message)``."""

    def __init__(
        self,
        data: Mapping[str, Any],
        known_nodes: Collection[str],
        known_roles: Collection[str],
        report: Callable[[str, str], None],
    ) -> None:
        self.data = data
        self.known_nodes = known_nodes
        self.known_roles = known_roles
        self.report = report
        self.ok = True

    def fail(self, field: str, message: str) -> None:
        self.ok = False
        self.report(field, message)

    # -- small typed getters: None means "absent or already reported" --------------------------
    def present(self, name: str) -> bool:
        value = self.data.get(name)
        return value is not None and value != "" and value != [] and value is not REPORTED

    def text(self, name: str, value: Any, *, required: bool, markup: bool = False) -> str | None:
        if value is REPORTED:
            self.ok = False
            return None
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, "missing field")
            return None
        if not isinstance(value, str):
            self.fail(name, f"must be text, got {type(value).__name__}")
            return None
        if CONTROL_CHARS.search(value):
            self.fail(name, "control characters are not allowed")
            return None
        if markup:
            problems = markup_problems(value)
            if problems:
                self.fail(name, "unsafe markup: " + "; ".join(problems))
                return None
            return canonical_markup(value).strip()
        return value.strip()

    def number(self, name: str, value: Any, *, required: bool) -> float | None:
        if value is REPORTED:
            self.ok = False
            return None
        if value is None:
            if required:
                self.fail(name, "missing field")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(name, f"must be a number, got {value!r}")
            return None
        if not math.isfinite(value):
            self.fail(name, "must be a finite number")
            return None
        return canonical_number(value)

    def codes(self, name: str, known: Collection[str], what: str) -> list[str]:
        value = self.data.get(name)
        if value is REPORTED:
            self.ok = False
            return []
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(name, "must be a list of codes")
            return []
        out: list[str] = []
        for i, code in enumerate(value):
            if code not in known:
                self.fail(f"{name}[{i}]", f"unknown {what} code {code!r}")
            elif code in out:
                self.fail(f"{name}[{i}]", f"duplicate code {code!r}")
            else:
                out.append(code)
        return out

    # -- the item ----------------------------------------------------------------------------
    def check(self) -> dict[str, Any] | None:
        data = self.data
        for name in sorted(set(data) - ITEM_FIELDS):
            self.fail(name, "unknown field")

        item_id = self.text("id", data.get("id"), required=True)
        if item_id is not None and not ID_PATTERN.match(item_id):
            self.fail("id", "use 1–64 letters, digits, '.', '_' or '-'")

        item_type = self.choice("type", data.get("type"), ItemType, required=True)
        node = self.text("node", data.get("node"), required=True)
        if node is not None and node not in self.known_nodes:
            self.fail("node", f"unknown node code {node!r}")
        tags = self.codes("tags", self.known_nodes, "node")
        if node is not None and node in tags:
            self.fail("tags", f"the primary node {node!r} is not a secondary tag")
        roles = self.codes("roles", self.known_roles, "job role")

        lang = self.text("lang", data.get("lang"), required=True)
        if lang is not None and not LANG_PATTERN.match(lang):
            self.fail("lang", f"not a language tag like 'zh-CN' or 'en': {lang!r}")
        level = self.text("level", data.get("level"), required=True)
        if level is not None and node is not None and node in self.known_nodes:
            allowed = levels_for_node(node)
            if level not in allowed:
                self.fail(
                    "level", f"{level!r} is not a level of node {node}; use one of {', '.join(allowed)}"
                )
        status = (
            self.choice("status", data.get("status"), ItemStatus, required=False) or ItemStatus.OPERATIONAL
        )

        stem = self.text("stem", data.get("stem"), required=True, markup=True)
        explanation = self.text("explanation", data.get("explanation"), required=False, markup=True) or ""
        media = self.media()

        options: list[dict[str, str]] = []
        key: Any = None
        scoring: Scoring | None = None
        scores: dict[str, int] | None = None
        categories: int | None = None  # K, for polytomous items
        if item_type is ItemType.TRUEFALSE:
            if self.present("options"):
                self.fail("options", "omit options for a truefalse item")
            key = self.truefalse_key()
        elif item_type is not None:
            options = self.options()
            option_keys = [o["key"] for o in options]
            if item_type is ItemType.SINGLE:
                key = self.single_key(option_keys)
            elif item_type is ItemType.MULTIPLE:
                key = self.multiple_key(option_keys)
                scoring = self.choice("scoring", data.get("scoring"), Scoring, required=False) or (
                    Scoring.ALL_OR_NOTHING
                )
                if scoring is Scoring.PARTIAL and key:
                    categories = len(key) + 1
            elif item_type is ItemType.SEQUENCE:
                key = self.sequence_key(option_keys)
                scoring = self.choice("scoring", data.get("scoring"), Scoring, required=False) or (
                    Scoring.ALL_OR_NOTHING
                )
                if scoring is Scoring.PARTIAL and len(option_keys) >= 2:
                    categories = len(option_keys)  # 0..n−1 correct adjacent pairs
            else:
                if self.present("key"):
                    self.fail("key", "omit key for an ordered item; give scores per option")
                scores = self.scores(option_keys)
                if scores:
                    categories = max(scores.values()) + 1
        if item_type not in SCORED_TYPES and self.present("scoring"):
            self.fail("scoring", "only multiple-choice and sequence items have a scoring rule")
        if item_type is not ItemType.ORDERED and self.present("scores"):
            self.fail("scores", "only ordered items have category scores")

        irt = self.irt(item_type, scoring, categories, status)
        if not self.ok:
            return None
        return {
            "id": item_id,
            "type": item_type,
            "node": node,
            "tags": tags,
            "roles": roles,
            "lang": lang,
            "level": level,
            "status": status,
            "stem": stem,
            "options": options,
            "key": key,
            "scoring": scoring,
            "scores": scores,
            "explanation": explanation,
            "media": media,
            "irt": irt,
        }

    def choice(self, name: str, value: Any, enum: type, *, required: bool) -> Any:
        if value is REPORTED:
            self.ok = False
            return None
        if value is None or value == "":
            if required:
                self.fail(name, "missing field")
            return None
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(str(member) for member in enum)
            self.fail(name, f"{value!r} is not one of {allowed}")
            return None

    def media(self) -> list[dict[str, str]]:
        value = self.data.get("media")
        if value is REPORTED:
            self.ok = False
            return []
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail("media", "must be a list")
            return []
        out = []
        for i, entry in enumerate(value):
            entry = {"src": entry, "alt": ""} if isinstance(entry, str) else entry
            if not isinstance(entry, dict) or set(entry) - {"src", "alt"}:
                self.fail(f"media[{i}]", "must be a path or an object with src and alt")
                continue
            src, alt = entry.get("src"), entry.get("alt") or ""
            if not isinstance(src, str) or not isinstance(alt, str):
                self.fail(f"media[{i}]", "src and alt must be text")
                continue
            if not (MEDIA_HTTPS.match(src) or (MEDIA_PATH.match(src) and ".." not in src.split("/"))):
                self.fail(f"media[{i}].src", f"use a relative path or an https URL, not {src!r}")
                continue
            if markup_problems(alt) or "<" in alt:
                self.fail(f"media[{i}].alt", "alt text must be plain text")
                continue
            out.append({"src": src, "alt": alt})
        return out

    def options(self) -> list[dict[str, str]]:
        value = self.data.get("options")
        if value is REPORTED:
            self.ok = False
            return []
        if value is None or value == []:
            self.fail("options", "missing field")
            return []
        if not isinstance(value, list):
            self.fail("options", "must be a list of {key, text}")
            return []
        if not 2 <= len(value) <= MAX_OPTIONS:
            self.fail("options", f"give 2 to {MAX_OPTIONS} options, not {len(value)}")
        out = []
        for i, option in enumerate(value[:MAX_OPTIONS]):
            if not isinstance(option, dict):
                self.fail(f"options[{i}]", "must be an object with key and text")
                continue
            for extra in sorted(set(option) - {"key", "text"}):
                self.fail(f"options[{i}].{extra}", "unknown field")
            expected = OPTION_KEYS[i]
            if option.get("key") != expected:
                self.fail(
                    f"options[{i}].key",
                    f"options are keyed A, B, C… in order: expected {expected!r}, got {option.get('key')!r}",
                )
            text = self.text(f"options[{i}].text", option.get("text"), required=True, markup=True)
            if text is not None:
                out.append({"key": expected, "text": text})
        return out

    def single_key(self, option_keys: list[str]) -> str | None:
        key = self.data.get("key")
        if key is REPORTED:
            self.ok = False
            return None
        if key is None or key == "":
            self.fail("key", "missing field")
            return None
        if not isinstance(key, str):
            self.fail("key", 'must be one option key, e.g. "B"')
            return None
        if option_keys and key not in option_keys:
            self.fail("key", f"{key!r} is not among the options ({', '.join(option_keys)})")
            return None
        return key

    def _key_list(self, shape: str) -> list[str] | None:
        """The key as a list of option keys, or None once the reason it is not one is reported."""
        key = self.data.get("key")
        if key is REPORTED:
            self.ok = False
            return None
        if key is None or key == []:
            self.fail("key", "missing field")
            return None
        if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
            self.fail("key", shape)
            return None
        return key

    def _keys_known(self, key: list[str], option_keys: list[str]) -> bool:
        """True when every key names an option; otherwise the unknown ones are reported."""
        unknown = [k for k in key if option_keys and k not in option_keys]
        if unknown:
            self.fail(
                "key", f"not among the options ({', '.join(option_keys)}): {', '.join(map(repr, unknown))}"
            )
        return not unknown

    def multiple_key(self, option_keys: list[str]) -> list[str] | None:
        key = self._key_list('must be a list of option keys, e.g. ["A", "C"]')
        if key is None or not self._keys_known(key, option_keys):
            return None
        if len(set(key)) != len(key):
            self.fail("key", "a key is listed twice")
            return None
        return [k for k in option_keys if k in key] if option_keys else key

    def sequence_key(self, option_keys: list[str]) -> list[str] | None:
        """The correct order: a permutation of the option keys that differs from the written order."""
        key = self._key_list('must list every option key in the correct order, e.g. ["C", "A", "D", "B"]')
        if key is None:
            return None
        ok = self._keys_known(key, option_keys)
        twice = sorted({k for k in key if key.count(k) > 1})
        if twice:
            self.fail("key", f"an option is listed twice in the order: {', '.join(map(repr, twice))}")
            ok = False
        missing = [k for k in option_keys if k not in key]
        if missing:
            self.fail("key", f"the order must list every option; missing: {', '.join(missing)}")
            ok = False
        if not ok:
            return None
        if option_keys and key == option_keys:
            self.fail(
                "key",
                f"the correct order {', '.join(key)} is the order the options are written in, so "
                "delivering them would give the answer away; write the options in another order "
                "(keys A, B, C… follow the written order) and the key to match",
            )
            return None
        return key

    def truefalse_key(self) -> bool | None:
        key = self.data.get("key")
        if key is REPORTED:
            self.ok = False
            return None
        if key is None:
            self.fail("key", "missing field")
            return None
        if not isinstance(key, bool):
            self.fail("key", f"must be true or false, got {key!r}")
            return None
        return key

    def scores(self, option_keys: list[str]) -> dict[str, int] | None:
        value = self.data.get("scores")
        if value is REPORTED:
            self.ok = False
            return None
        if value is None:
            self.fail("scores", "missing field")
            return None
        if not isinstance(value, dict):
            self.fail("scores", "must map every option key to a category 0..K−1")
            return None
        ok = True
        for k, v in value.items():
            if option_keys and k not in option_keys:
                self.fail(f"scores.{k}", f"{k!r} is not among the options ({', '.join(option_keys)})")
                ok = False
            elif isinstance(v, bool) or not isinstance(v, int) or v < 0:
                self.fail(f"scores.{k}", f"must be a category number 0, 1, 2…, got {v!r}")
                ok = False
        missing = [k for k in option_keys if k not in value]
        if missing:
            self.fail("scores", f"no category for option(s) {', '.join(missing)}")
            ok = False
        if not ok:
            return None
        used = set(value.values())
        top = max(used)
        if top < 1 or used != set(range(top + 1)):
            self.fail("scores", f"categories must run 0..K−1 with every category used; got {sorted(used)}")
            return None
        return {k: value[k] for k in option_keys}

    def irt(
        self, item_type: ItemType | None, scoring: Scoring | None, categories: int | None, status: ItemStatus
    ) -> dict[str, Any] | None:
        value = self.data.get("irt")
        if value is REPORTED:
            self.ok = False
            return None
        if value is None:
            if status is not ItemStatus.DRAFT:
                self.fail("irt", "missing field (only draft items may lack IRT parameters)")
            return None
        if not isinstance(value, dict):
            self.fail(
                "irt", "must be an object with model, a, b, c, thresholds, parameterisation, source, version"
            )
            return None
        for name in sorted(set(value) - IRT_FIELDS):
            self.fail(f"irt.{name}", "unknown field")
        model = self.choice("irt.model", value.get("model"), IrtModel, required=True)
        polytomous = item_type is ItemType.ORDERED or scoring is Scoring.PARTIAL
        if model is not None and item_type is not None:
            expected = ("grm", "gpcm") if polytomous else ("2pl", "3pl")
            if model not in expected:
                what = "ordered/partial-credit" if polytomous else "dichotomously scored"
                self.fail("irt.model", f"a {what} item needs model {' or '.join(expected)}, not {model}")
                model = None

        a = self.number("irt.a", value.get("a"), required=True)
        if a is not None and not 0 < a <= MAX_A:
            self.fail("irt.a", f"discrimination must be > 0 (and ≤ {MAX_A:g}), got {a:g}")
        b = self.number("irt.b", value.get("b"), required=model in (IrtModel.TWO_PL, IrtModel.THREE_PL))
        if b is not None and abs(b) > MAX_LOCATION:
            self.fail("irt.b", f"difficulty must lie in [−{MAX_LOCATION:g}, {MAX_LOCATION:g}], got {b:g}")
        c = self.number("irt.c", value.get("c"), required=model is IrtModel.THREE_PL)
        thresholds = self.thresholds(value.get("thresholds"), required=polytomous and model is not None)

        if model in (IrtModel.TWO_PL, IrtModel.THREE_PL):
            if thresholds is not None:
                self.fail("irt.thresholds", f"must be null for model {model}")
            if model is IrtModel.TWO_PL and c is not None:
                self.fail("irt.c", "must be null for model 2pl (use 3pl for a guessing parameter)")
            if model is IrtModel.THREE_PL and c is not None and not 0 <= c < 0.5:
                self.fail("irt.c", f"guessing must lie in [0, 0.5), got {c:g}")
        elif model is not None:
            if b is not None:
                self.fail("irt.b", f"must be null for model {model}; give thresholds")
            if c is not None:
                self.fail("irt.c", f"must be null for model {model}")
            if thresholds is not None:
                if categories is not None and len(thresholds) != categories - 1:
                    self.fail(
                        "irt.thresholds",
                        f"give K−1 = {categories - 1} thresholds for {categories} "
                        f"categories, not {len(thresholds)}",
                    )
                if model is IrtModel.GRM and any(
                    x >= y for x, y in zip(thresholds, thresholds[1:], strict=False)
                ):
                    self.fail(
                        "irt.thresholds", f"GRM thresholds must be strictly increasing, got {thresholds}"
                    )

        parameterisation = self.text("irt.parameterisation", value.get("parameterisation"), required=True)
        if parameterisation is not None and parameterisation != PARAMETERISATION:
            self.fail(
                "irt.parameterisation",
                f"only {PARAMETERISATION!r} is accepted (IRT form, logistic, D = 1; "
                f"convert slope–intercept with b = −d/a), not {parameterisation!r}",
            )
        source = self.text("irt.source", value.get("source"), required=True)
        if source is not None and not SOURCE_PATTERN.match(source):
            self.fail("irt.source", f"use 'provisional', 'expert' or 'calibration:<run id>', not {source!r}")
        version = value.get("version", 1)
        if version is REPORTED:
            self.ok = False
        elif isinstance(version, bool) or not isinstance(version, int) or version < 1:
            self.fail("irt.version", f"must be a whole number ≥ 1, got {version!r}")
        return {
            "model": model,
            "a": a,
            "b": b,
            "c": c,
            "thresholds": thresholds,
            "parameterisation": parameterisation,
            "source": source,
            "version": version,
        }

    def thresholds(self, value: Any, *, required: bool) -> list[float] | None:
        if value is REPORTED:
            self.ok = False
            return None
        if value is None:
            if required:
                self.fail("irt.thresholds", "missing field")
            return None
        if not isinstance(value, list) or not value:
            self.fail("irt.thresholds", "must be a list of K−1 numbers")
            return None
        out = []
        for i, t in enumerate(value):
            number = self.number(f"irt.thresholds[{i}]", t, required=True)
            if number is not None and abs(number) > MAX_LOCATION:
                self.fail(f"irt.thresholds[{i}]", f"must lie in [−{MAX_LOCATION:g}, {MAX_LOCATION:g}]")
            if number is not None:
                out.append(number)
        return out if len(out) == len(value) else None


def _label(labels: Mapping[str, str], field: str) -> str:
    """The author's name for ``field``: the most specific labelled prefix, else the path itself."""
    path = field
    while path:
        if path in labels:
            return labels[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return field


def item_location(index: int, data: Mapping[str, Any]) -> str:
    item_id = data.get("id") if isinstance(data, Mapping) else None
    return f"item {index} ({item_id})" if isinstance(item_id, str) and item_id else f"item {index}"


def validate_items(
    raw_items: Iterable[RawItem],
    known_nodes: Collection[str],
    known_roles: Collection[str] = (),
    *,
    source: str = "",
    problems: Iterable[ImportProblem] = (),
) -> list[Item]:
    """Items from raw records, or :class:`BankImportError` listing every problem (plus ``problems``)."""
    found: list[ImportProblem] = list(problems)
    items: list[Item] = []
    first_seen: dict[str, str] = {}
    for raw in raw_items:

        def report(field: str, message: str, raw: RawItem = raw) -> None:
            found.append(ImportProblem(source, raw.location, _label(raw.labels, field), message))

        if not isinstance(raw.data, dict):
            report("", "an item must be an object")
            continue
        item_id = raw.data.get("id")
        if isinstance(item_id, str) and item_id:
            if item_id in first_seen:
                report("id", f"duplicate id {item_id!r} (first at {first_seen[item_id]})")
            else:
                first_seen[item_id] = raw.location
        normalised = _Checker(raw.data, known_nodes, known_roles, report).check()
        if normalised is not None:
            items.append(Item.from_dict(normalised))
    if found:
        raise BankImportError(found)
    return items


def validate_bank(
    raw: RawBank, known_nodes: Collection[str], known_roles: Collection[str] = (), *, default_name: str = ""
) -> ItemBank:
    """Validate what a reader found; the reader's own problems are listed with the others."""
    items = validate_items(raw.items, known_nodes, known_roles, source=raw.source, problems=raw.problems)
    if not items:
        raise BankImportError([ImportProblem(raw.source, "", "items", "the file holds no items")])
    return ItemBank(raw.bank or default_name, tuple(items))
