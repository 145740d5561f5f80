"""Import and export of whole banks, choosing the format by file name.

=========================  ===========================================
file name                  format
=========================  ===========================================
``*.json``                 competency.items/1 (codes.md)
``*.csv``                  CSV template (templates/items_template.csv)
``*.xlsx``                 XLSX template (templates/items_template.xlsx)
``*.gift``, ``*.txt``      Moodle GIFT
``*.zip``, ``*.xml``       QTI 2.1 / 3.0 (import: version from namespaces)
``*.qti3.zip``             QTI 3.0 content package (export)
other ``*.zip``            QTI 2.1 content package (export)
=========================  ===========================================

Import is all-or-nothing: :func:`import_items` returns a validated bank or raises
:class:`BankImportError` listing every problem; it never writes anything.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from competency.tests_bank.formats import MAX_FILE_BYTES, csv_format, gift, json_format, qti, xlsx_format
from competency.tests_bank.problems import BankImportError, ImportProblem, RawBank
from competency.tests_bank.schema import Item, ItemBank
from competency.tests_bank.validation import validate_bank

READERS = {
    ".json": json_format.read,
    ".csv": csv_format.read,
    ".xlsx": xlsx_format.read,
    ".gift": gift.read,
    ".txt": gift.read,
    ".zip": qti.read,
    ".xml": qti.read,
}
FORMATS = ("json", "csv", "xlsx", "gift", "qti21", "qti30")


def format_for(name: str) -> str:
    """The export format for a file name (see the table above)."""
    lower = name.lower()
    if lower.endswith((".qti3.zip", ".qti30.zip")):
        return "qti30"
    suffix = Path(lower).suffix
    return {
        ".json": "json",
        ".csv": "csv",
        ".xlsx": "xlsx",
        ".gift": "gift",
        ".txt": "gift",
        ".zip": "qti21",
    }.get(suffix, "")


def read_raw(path: str | Path, *, data: bytes | None = None) -> RawBank:
    """What the reader for ``path``'s extension finds (``data`` = the upload's bytes, if any)."""
    name = Path(path).name
    reader = READERS.get(Path(name).suffix.lower())
    if reader is None:
        raw = RawBank(name)
        raw.problem("", "", f"unknown file type; use one of {', '.join(sorted(READERS))}")
        return raw
    content = Path(path).read_bytes() if data is None else data
    if len(content) > MAX_FILE_BYTES:
        raw = RawBank(name)
        raw.problem("", "", f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        return raw
    return reader(content, name=name)


def import_items(
    path: str | Path,
    known_nodes: Collection[str],
    known_roles: Collection[str] = (),
    *,
    data: bytes | None = None,
) -> ItemBank:
    """Read and validate a bank file; :class:`BankImportError` lists every problem, nothing is kept."""
    raw = read_raw(path, data=data)
    stem = Path(path).name.split(".")[0]
    return validate_bank(raw, known_nodes, known_roles, default_name=stem)


def export_bytes(items: Sequence[Item], fmt: str, *, bank: str = "export") -> bytes:
    """The bank in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return json_format.dumps(items, bank=bank)
    if fmt == "csv":
        return csv_format.dumps(items)
    if fmt == "xlsx":
        return xlsx_format.dumps(items)
    if fmt == "gift":
        return gift.dumps(items, bank=bank)
    if fmt in ("qti21", "qti30"):
        return qti.dumps(items, bank=bank, version="2.1" if fmt == "qti21" else "3.0")
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def export_items(
    items: Sequence[Item], path: str | Path, *, bank: str | None = None, fmt: str | None = None
) -> bytes:
    """Write ``items`` to ``path`` in the format its name implies (or ``fmt``); returns the bytes."""
    fmt = fmt or format_for(Path(path).name)
    if not fmt:
        raise ValueError(
            f"cannot tell the format of {Path(path).name!r}; give fmt= one of {', '.join(FORMATS)}"
        )
    data = export_bytes(items, fmt, bank=bank or Path(path).name.split(".")[0])
    Path(path).write_bytes(data)
    return data


__all__ = [
    "BankImportError",
    "ImportProblem",
    "import_items",
    "export_items",
    "export_bytes",
    "format_for",
    "read_raw",
    "FORMATS",
]
