"""Fixtures for the graph tests: a writable copy of the packaged data directory."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from competency.graph import DATA_DIR


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A copy of competency/graph/data that a test may break."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


@pytest.fixture
def edit(data_copy: Path) -> Callable[[str, Callable[[dict[str, Any]], None]], None]:
    """edit("teacher_map.json", fn) loads the file, lets fn change it in place, writes it back."""

    def apply(name: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = data_copy / name
        doc = json.loads(path.read_text(encoding="utf-8"))
        change(doc)
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    return apply
