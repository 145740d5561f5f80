"""Validation of the demo banks shipped in ``competency/tests_bank/data/demo/*.json``."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from competency.tests_bank.formats import json_format
from competency.tests_bank.item_writing import ItemWarning, banks_item_writing_checks
from competency.tests_bank.problems import BankImportError, ImportProblem
from competency.tests_bank.schema import ItemBank
from competency.tests_bank.validation import validate_bank

DEMO_DIR = Path(__file__).parent / "data" / "demo"


def validate_demo_bank(
    known_nodes: Collection[str], known_roles: Collection[str] = (), directory: str | Path = DEMO_DIR
) -> list[ItemBank]:
    """Every demo bank, validated; one :class:`BankImportError` lists the problems of all files
    (including ids repeated across files, and an empty or missing directory)."""
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        raise BankImportError([ImportProblem(str(directory), "", "", "no demo bank files (*.json)")])
    problems: list[ImportProblem] = []
    banks: list[ItemBank] = []
    first_file: dict[str, str] = {}
    for path in files:
        try:
            bank = validate_bank(json_format.read(path), known_nodes, known_roles, default_name=path.stem)
        except BankImportError as exc:
            problems.extend(exc.problems)
            continue
        for item in bank.items:
            if item.id in first_file:
                problems.append(
                    ImportProblem(
                        path.name,
                        f"item {item.id}",
                        "id",
                        f"duplicate id {item.id!r} (also in {first_file[item.id]})",
                    )
                )
            else:
                first_file[item.id] = path.name
        banks.append(bank)
    if problems:
        raise BankImportError(problems)
    return banks


def demo_item_writing_warnings(
    known_nodes: Collection[str], known_roles: Collection[str] = (), directory: str | Path = DEMO_DIR
) -> list[ItemWarning]:
    """Item-writing warnings for the demo banks, duplicate stems checked across all of them."""
    return banks_item_writing_checks(validate_demo_bank(known_nodes, known_roles, directory))
