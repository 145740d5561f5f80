"""The native "competency.items/1" JSON file (codes.md), UTF-8, BOM tolerated."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from competency.tests_bank.formats import load, save
from competency.tests_bank.problems import RawBank, RawItem
from competency.tests_bank.safe_archive import ITEM_LIMITS, UploadRefused, load_json
from competency.tests_bank.schema import ITEM_FORMAT, Item, bank_to_dict
from competency.tests_bank.validation import item_location


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"field {key!r} appears twice in one object")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number in JSON")


def read(source: str | Path | bytes, *, name: str | None = None) -> RawBank:
    data, name = load(source, name)
    raw = RawBank(name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raw.problem(f"byte {exc.start}", "", "the file is not UTF-8 text")
        return raw
    try:
        doc = load_json(text, ITEM_LIMITS, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except UploadRefused as exc:
        raw.problem("", "", exc.message)
        return raw
    except json.JSONDecodeError as exc:
        raw.problem(f"line {exc.lineno}", "", f"malformed JSON: {exc.msg} (column {exc.colno})")
        return raw
    except ValueError as exc:
        raw.problem("", "", f"malformed JSON: {exc}")
        return raw
    if not isinstance(doc, dict):
        raw.problem(
            "", "", f'the file must be an object {{"format": "{ITEM_FORMAT}", "bank": …, "items": […]}}'
        )
        return raw
    if doc.get("format") != ITEM_FORMAT:
        raw.problem("", "format", f"expected {ITEM_FORMAT!r}, got {doc.get('format')!r}")
    for extra in sorted(set(doc) - {"format", "bank", "items"}):
        raw.problem("", extra, "unknown field")
    bank = doc.get("bank")
    if bank is not None and not isinstance(bank, str):
        raw.problem("", "bank", "must be text")
    else:
        raw.bank = bank
    items = doc.get("items")
    if not isinstance(items, list):
        raw.problem("", "items", "missing field (a list of items)")
        return raw
    for index, entry in enumerate(items, start=1):
        raw.items.append(RawItem(item_location(index, entry), entry))
    return raw


def dumps(items: Sequence[Item], *, bank: str) -> bytes:
    return (
        json.dumps(bank_to_dict(items, bank), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    ).encode()


def write(items: Sequence[Item], path: str | Path | None = None, *, bank: str = "export") -> bytes:
    return save(dumps(items, bank=bank), path)
