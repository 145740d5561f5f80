"""XLSX template (openpyxl): sheet "items" with the CSV columns, plus a "columns" help sheet.

Parameters are numeric cells; every text is written as a string cell (never a formula), so the
export is safe against formula injection without altering text. On import, formula cells are
refused, since their value would depend on the spreadsheet program.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from competency.tests_bank.formats import load, save
from competency.tests_bank.formats.tabular import (
    COLUMN_HELP,
    COLUMNS,
    NUMBER_COLUMNS,
    header_problems,
    item_to_row,
    row_to_raw,
)
from competency.tests_bank.problems import RawBank
from competency.tests_bank.safe_archive import (
    ITEM_LIMITS,
    UploadRefused,
    open_workbook,
    refusal_reason,
    xlsx_rows,
)
from competency.tests_bank.schema import Item

SHEET = "items"
HELP_SHEET = "columns"
MAX_ROWS = 20000


def read(source: str | Path | bytes, *, name: str | None = None) -> RawBank:
    data, name = load(source, name)
    raw = RawBank(name)
    try:
        workbook = open_workbook(data, ITEM_LIMITS, data_only=False)
    except UploadRefused as exc:
        message = "not an XLSX file (not a zip archive)" if exc.code == "not_zip" else exc.message
        raw.problem("", "", message)
        return raw
    try:
        sheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
        rows = xlsx_rows(sheet, ITEM_LIMITS.with_changes(max_rows=MAX_ROWS), values_only=False)
        header_cells = next(rows, ())
        header = [str(c.value).strip() if c.value is not None else "" for c in header_cells]
        # A sheet without a <dimension> (openpyxl's write-only export) is read padded with empty cells.
        while header and not header[-1]:
            header.pop()
        if not header_problems(header, raw):
            return raw
        for row_number, row in enumerate(rows, start=2):
            if row_number > MAX_ROWS:
                raw.problem(f"row {row_number}", "", f"more than {MAX_ROWS} rows")
                break
            location = f"row {row_number}"
            cells: dict[str, Any] = {}
            for column, cell in zip(header, row, strict=False):
                if not column:
                    continue
                if cell.data_type == "f":
                    raw.problem(location, column, "formulas are not allowed; type the value")
                    continue
                cells[column] = cell.value
            item = row_to_raw(cells, location, raw)
            if item is not None:
                raw.items.append(item)
    except UploadRefused as exc:
        raw.problem("", "", exc.message)
    except Exception as exc:  # a damaged sheet can fail while streaming rows
        raw.problem("", "", f"not a readable XLSX workbook ({refusal_reason(exc)})")
    finally:
        workbook.close()
    return raw


def workbook_for(items: Sequence[Item]) -> Workbook:
    """The export workbook, built in openpyxl's write-only mode: rows stream straight to the file
    (the normal mode keeps every cell object and looked up the last row per item, which made the
    demo bank's export take seconds)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET)
    sheet.freeze_panes = "B2"
    bold = Font(bold=True)
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(sheet, value=column)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for item in items:
        row = item_to_row(item)
        cells: list[Any] = []
        for column in COLUMNS:
            value = row[column]
            if value is None or column in NUMBER_COLUMNS:
                cells.append(value)
                continue
            text = str(value)
            if text.startswith("="):  # openpyxl would take "=…" for a formula: force a string cell
                cell = WriteOnlyCell(sheet, value=text)
                cell.data_type = "s"
                cells.append(cell)
            else:  # a plain value is cheaper than a cell object (most of the export's time)
                cells.append(text)
        sheet.append(cells)
    help_sheet = workbook.create_sheet(HELP_SHEET)
    help_sheet.append(["column", "meaning"])
    for column in COLUMNS:
        help_sheet.append([column, COLUMN_HELP[column]])
    return workbook


def dumps(items: Sequence[Item]) -> bytes:
    out = io.BytesIO()
    workbook_for(items).save(out)
    return _fixed_timestamps(out.getvalue())


def _fixed_timestamps(data: bytes) -> bytes:
    """Rewrite the archive with fixed member dates so identical banks give identical files."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _fixed_core(content)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, content)
    return out.getvalue()


def _fixed_core(content: bytes) -> bytes:
    return re.sub(
        rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>2024-01-01T00:00:00Z\g<3>", content
    )


def write(items: Sequence[Item], path: str | Path | None = None, *, bank: str = "export") -> bytes:
    """``bank`` is not stored in XLSX (the file name names the bank)."""
    return save(dumps(items), path)
