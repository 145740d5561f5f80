"""The column layout shared by the CSV and XLSX templates, and cell <-> field conversion.

One row per item. List cells use ";" (tags, roles, multiple-choice key, sequence key "C;A;D;B",
which may also be written "C,A,D,B"); thresholds have one numeric column each (irt_t1..irt_t6,
filled from the left); ordered scores are "A=0;B=2;C=3;D=1"; media is a JSON array (or
"src;src"). See templates/FORMAT.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from competency.tests_bank.problems import RawBank, RawItem
from competency.tests_bank.schema import OPTION_KEYS, SCORED_TYPES, Item, ItemType
from competency.tests_bank.validation import REPORTED

OPTION_COLUMNS = tuple(f"option_{k}" for k in OPTION_KEYS)
# partial-credit multiple choice with 6 keys has K = 7 categories, so up to 6 thresholds
THRESHOLD_COLUMNS = tuple(f"irt_t{i}" for i in range(1, len(OPTION_KEYS) + 1))
IRT_COLUMNS = (
    "irt_model",
    "irt_a",
    "irt_b",
    "irt_c",
    *THRESHOLD_COLUMNS,
    "irt_parameterisation",
    "irt_source",
    "irt_version",
)
COLUMNS = (
    "id",
    "type",
    "node",
    "tags",
    "roles",
    "lang",
    "level",
    "status",
    "stem",
    *OPTION_COLUMNS,
    "key",
    "scoring",
    "scores",
    "explanation",
    "media",
    *IRT_COLUMNS,
)
REQUIRED_COLUMNS = ("id", "type", "node", "lang", "level", "stem")
NUMBER_COLUMNS = frozenset({"irt_a", "irt_b", "irt_c", "irt_version", *THRESHOLD_COLUMNS})

COLUMN_HELP = {
    "id": "unique item id: letters, digits, . _ -",
    "type": "single | multiple | truefalse | ordered | sequence",
    "node": "primary node code, e.g. T3.1.2 or S4.2",
    "tags": "optional secondary node codes, separated by ;",
    "roles": "optional job-role codes, separated by ;",
    "lang": "language tag, e.g. zh-CN or en",
    "level": "intended level: L1..L6 (teacher nodes) or J1..J3 (student/job nodes)",
    "status": "draft | pilot | operational | retired (empty = operational)",
    "stem": "question text; markup allowed: <b> <i> <em> <strong> <code> <br> <ul> <ol> <li> <p> <sub> <sup>",
    **{
        f"option_{k}": f"text of option {k} (options A, B, C… without gaps; empty for truefalse)"
        for k in OPTION_KEYS
    },
    "key": "single: B; multiple: A;C; truefalse: true or false; ordered: empty; "
    "sequence: every option in the correct order, C;A;D;B",
    "scoring": "multiple and sequence only: all_or_nothing (default) or partial",
    "scores": "ordered only: category per option, e.g. A=0;B=2;C=3;D=1",
    "explanation": "why the key is right (never shown during a test)",
    "media": 'optional: JSON list like [{"src": "img/a.png", "alt": "…"}] or paths separated by ;',
    "irt_model": "2pl or 3pl (dichotomous); grm or gpcm (ordered, partial multiple or sequence)",
    "irt_a": "discrimination a > 0",
    "irt_b": "difficulty b (2pl/3pl; empty for grm/gpcm)",
    "irt_c": "guessing c in [0, 0.5) (3pl only)",
    **{
        c: f"grm/gpcm: threshold {c[5:]} of K−1, filled from irt_t1 (grm: strictly increasing)"
        for c in THRESHOLD_COLUMNS
    },
    "irt_parameterisation": "logistic-D1-irt",
    "irt_source": "provisional | expert | calibration:<run id>",
    "irt_version": "parameter version, whole number ≥ 1",
}

LABELS: dict[str, str] = {
    **{f"irt.{c[4:]}": c for c in IRT_COLUMNS if c not in THRESHOLD_COLUMNS},
    **{f"irt.thresholds[{i}]": c for i, c in enumerate(THRESHOLD_COLUMNS)},
    "irt.thresholds": "irt_t1..irt_t6",
    **{f"options[{i}]": f"option_{k}" for i, k in enumerate(OPTION_KEYS)},
    "options": "option_A..option_F",
}


def header_problems(header: list[str], raw: RawBank) -> bool:
    """Report unknown, duplicate and missing columns; False when rows cannot be read."""
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raw.problem("row 1", column, "duplicate column")
        elif column and column not in COLUMNS:
            raw.problem("row 1", column, "unknown column")
        seen.add(column)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raw.problem("row 1", ", ".join(missing), "missing column(s)")
        return False
    return True


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def row_to_raw(cells: Mapping[str, Any], location: str, raw: RawBank) -> RawItem | None:
    """A raw item from one row (``None`` for an empty row); unparseable cells are reported here."""
    text = {c: _text(cells.get(c)) for c in COLUMNS}
    if not any(v.strip() for v in text.values()):
        return None

    def bad(column: str, message: str) -> object:
        raw.problem(location, column, message)
        return REPORTED

    def number(column: str) -> Any:
        value = cells.get(column)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if not text[column].strip():
            return None
        try:
            parsed = float(text[column])
        except ValueError:
            return bad(column, f"not a number: {text[column]!r}")
        if not math.isfinite(parsed):
            return bad(column, "must be a finite number")
        return parsed

    data: dict[str, Any] = {}
    for column in ("id", "type", "node", "lang", "level", "status", "stem", "scoring", "explanation"):
        if text[column].strip():
            data[column] = text[column] if column in ("stem", "explanation") else text[column].strip()
    for column in ("tags", "roles"):
        if text[column].strip():
            data[column] = _split(text[column])
    options = [
        {"key": OPTION_KEYS[i], "text": text[c]} for i, c in enumerate(OPTION_COLUMNS) if text[c].strip()
    ]
    if options:
        data["options"] = options

    key = text["key"].strip()
    item_type = data.get("type")
    if key:
        if item_type == ItemType.MULTIPLE:
            data["key"] = _split(key)
        elif item_type == ItemType.SEQUENCE:
            data["key"] = _split(key.replace(",", ";"))
        elif item_type == ItemType.TRUEFALSE and key.lower() in ("true", "false"):
            data["key"] = key.lower() == "true"
        else:
            data["key"] = key
    if text["scores"].strip():
        data["scores"] = _scores(text["scores"].strip(), bad)
    if text["media"].strip():
        data["media"] = _media(text["media"].strip(), bad)

    if any(text[c].strip() for c in IRT_COLUMNS):
        version = number("irt_version")
        if isinstance(version, float):
            version = int(version) if version.is_integer() else bad("irt_version", "must be a whole number")
        irt: dict[str, Any] = {
            "model": text["irt_model"].strip() or None,
            "a": number("irt_a"),
            "b": number("irt_b"),
            "c": number("irt_c"),
            "thresholds": _thresholds([number(c) for c in THRESHOLD_COLUMNS], bad),
            "parameterisation": text["irt_parameterisation"].strip() or None,
            "source": text["irt_source"].strip() or None,
        }
        if version is not None:
            irt["version"] = version
        data["irt"] = irt
    return RawItem(location, data, LABELS)


def _scores(cell: str, bad: Any) -> Any:
    out: dict[str, int] = {}
    for part in _split(cell):
        key, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = int(value.strip())
        except ValueError:
            return bad("scores", f"write categories as A=0;B=2;…, not {cell!r}")
    return out


def _media(cell: str, bad: Any) -> Any:
    if cell.startswith("["):
        try:
            value = json.loads(cell)
        except ValueError:
            return bad("media", "malformed JSON list")
        return value
    return _split(cell)


def _thresholds(values: list[Any], bad: Any) -> Any:
    filled = [i for i, v in enumerate(values) if v is not None]
    if not filled:
        return None
    if any(v is REPORTED for v in values):
        return REPORTED
    if filled != list(range(len(filled))):
        return bad(THRESHOLD_COLUMNS[len(filled) - 1], "fill the thresholds from irt_t1 without gaps")
    return [values[i] for i in filled]


def item_to_row(item: Item) -> dict[str, Any]:
    """The row for ``item``: text cells as str, parameters as numbers (None = empty cell)."""
    row: dict[str, Any] = {c: None for c in COLUMNS}
    row.update(
        id=item.id,
        type=str(item.type),
        node=item.node,
        tags=";".join(item.tags) or None,
        roles=";".join(item.roles) or None,
        lang=item.lang,
        level=item.level,
        status=str(item.status),
        stem=item.stem,
        explanation=item.explanation or None,
    )
    for option in item.options:
        row[f"option_{option.key}"] = option.text
    if item.type in SCORED_TYPES:
        row["key"] = ";".join(item.key)  # type: ignore[arg-type]
        row["scoring"] = str(item.scoring)
    elif item.type is ItemType.TRUEFALSE:
        row["key"] = "true" if item.key else "false"
    elif item.type is ItemType.SINGLE:
        row["key"] = item.key
    else:
        row["scores"] = ";".join(f"{k}={v}" for k, v in item.scores or ())
    if item.media:
        row["media"] = json.dumps([{"src": m.src, "alt": m.alt} for m in item.media], ensure_ascii=False)
    if item.irt is not None:
        p = item.irt
        row.update(
            irt_model=str(p.model),
            irt_a=p.a,
            irt_b=p.b,
            irt_c=p.c,
            **dict(zip(THRESHOLD_COLUMNS, p.thresholds or (), strict=False)),
            irt_parameterisation=p.parameterisation,
            irt_source=p.source,
            irt_version=p.version,
        )
    return row
