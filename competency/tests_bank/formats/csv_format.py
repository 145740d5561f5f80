"""CSV template: UTF-8 (a BOM is tolerated on import and written on export, for Excel), comma
separated, header row of :data:`~competency.tests_bank.formats.tabular.COLUMNS`.

Formula injection: on export every text cell that starts with ``= + - @``, tab or CR (or with an
apostrophe, so the rule is reversible) gets a leading ``'``; cells that are plain numbers are
written as they are. On import one leading ``'`` is removed from any cell (the spreadsheet
text marker), so exported files read back unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from competency.tests_bank.formats import load, save
from competency.tests_bank.formats.tabular import COLUMNS, header_problems, item_to_row, row_to_raw
from competency.tests_bank.problems import RawBank
from competency.tests_bank.schema import Item

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
MAX_ROWS = 20000


def neutralise(cell: str) -> str:
    """The cell as spreadsheet programs must not evaluate it."""
    if PLAIN_NUMBER.match(cell):
        return cell
    if cell.startswith(FORMULA_TRIGGERS) or cell.startswith("'"):
        return "'" + cell
    return cell


def _unmark(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def read(source: str | Path | bytes, *, name: str | None = None) -> RawBank:
    data, name = load(source, name)
    raw = RawBank(name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raw.problem(f"byte {exc.start}", "", "the file is not UTF-8 text (save as CSV UTF-8)")
        return raw
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader, [])]
        if not header_problems(header, raw):
            return raw
        for row_number, row in enumerate(reader, start=2):
            if row_number > MAX_ROWS:
                raw.problem(f"row {row_number}", "", f"more than {MAX_ROWS} rows")
                break
            location = f"row {row_number}"
            if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
                raw.problem(location, "", f"{len(row)} cells but {len(header)} columns")
            cells = {column: _unmark(cell) for column, cell in zip(header, row, strict=False) if column}
            item = row_to_raw(cells, location, raw)
            if item is not None:
                raw.items.append(item)
    except csv.Error as exc:
        raw.problem(f"line {reader.line_num}", "", f"malformed CSV: {exc}")
    return raw


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return neutralise(str(value))


def dumps(items: Sequence[Item]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for item in items:
        row = item_to_row(item)
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def write(items: Sequence[Item], path: str | Path | None = None, *, bank: str = "export") -> bytes:
    """``bank`` is not stored in CSV (the file name names the bank)."""
    return save(dumps(items), path)
