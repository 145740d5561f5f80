"""Shared helpers for the item-bank tests."""

from __future__ import annotations

import json
from typing import Any

from competency.tests_bank import Item
from competency.tests_bank.problems import RawItem
from competency.tests_bank.validation import item_location, validate_items

from .conftest import NODES, ROLES


def items_from(raw: list[dict[str, Any]]) -> list[Item]:
    return validate_items(
        [RawItem(item_location(i, r), r) for i, r in enumerate(raw, 1)], NODES, ROLES, source="t"
    )


def bank_bytes(*items: dict[str, Any]) -> bytes:
    return json.dumps({"format": "competency.items/1", "bank": "b", "items": list(items)}).encode()
