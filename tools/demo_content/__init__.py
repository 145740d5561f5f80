"""Generators of the committed demo content (item banks, resource catalog, path templates).

They are development tools, not part of the installed package: ``python -m tools.demo_content``
rewrites the JSON files under ``competency/`` from the Python sources here, and
``python -m tools.demo_content --check`` regenerates into memory and names every file that differs
from the committed one (the suite runs the check: tests/test_demo_content.py).
"""

from __future__ import annotations

import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATORS = ("build_teacher_items", "build_student_items", "build_job_items", "build_catalog")


def generate() -> dict[str, str]:
    """Repository path → text of every generated file."""
    out: dict[str, str] = {}
    for name in GENERATORS:
        out.update(importlib.import_module(f"{__name__}.{name}").build())
    return out


def differences(root: Path = ROOT) -> list[str]:
    """The generated files whose committed copy under `root` is missing or not byte-identical."""
    return [
        path
        for path, text in generate().items()
        if not (root / path).is_file() or (root / path).read_bytes() != text.encode("utf-8")
    ]


def write(root: Path = ROOT) -> list[str]:
    """Write every generated file under `root`; returns the paths written."""
    written = []
    for path, text in generate().items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written
