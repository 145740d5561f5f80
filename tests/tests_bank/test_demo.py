"""validate_demo_bank on a temporary directory (the real demo data is checked by the lead's integration test)."""

from __future__ import annotations

import json

import pytest

from competency.tests_bank import BankImportError, validate_demo_bank

from .conftest import NODES, ROLES, raw_bank, raw_multiple, raw_ordered, raw_single


def test_valid_demo_banks(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(raw_bank(raw_single())), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(raw_bank(raw_multiple(), raw_ordered())), encoding="utf-8")
    banks = validate_demo_bank(NODES, ROLES, tmp_path)
    assert [(b.name, len(b.items)) for b in banks] == [("test-bank", 1), ("test-bank", 2)]


def test_problems_of_all_files_are_listed(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(raw_bank(raw_single())), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(raw_bank(raw_single(), raw_multiple())), encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps(raw_bank(raw_ordered(node="T0"))), encoding="utf-8")
    with pytest.raises(BankImportError) as caught:
        validate_demo_bank(NODES, ROLES, tmp_path)
    found = {(p.source, p.location, p.field) for p in caught.value.problems}
    assert found == {("b.json", "item T-3.1.2-01", "id"), ("c.json", "item 1 (T-3.3.1-01)", "node")}


def test_missing_demo_files_are_an_error(tmp_path):
    with pytest.raises(BankImportError, match="no demo bank files"):
        validate_demo_bank(NODES, ROLES, tmp_path)
