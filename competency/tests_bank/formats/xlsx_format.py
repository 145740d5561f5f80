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

import defusedxml
from openpyxl import Workbook, load_workbook
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
from competency.tests_bank.schema import Item

SHEET = "items"
HELP_SHEET = "columns"
MAX_ROWS = 20000
MAX_UNCOMPRESSED = 200 * 1024 * 1024  # zip-bomb guard before openpyxl inflates anything


def _zip_problem(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        return "not an XLSX file (not a zip archive)"
    if total > MAX_UNCOMPRESSED:
        return "the workbook is too large when unpacked"
    return None


def _reason(exc: BaseException) -> str:
    """The exception's name, naming a defusedxml refusal anywhere in its chain."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, defusedxml.DefusedXmlException):
            return f"refused XML: {type(cause).__name__}"
        cause = cause.__cause__ or cause.__context__
    return type(exc).__name__


def read(source: str | Path | bytes, *, name: str | None = None) -> RawBank:
    data, name = load(source, name)
    raw = RawBank(name)
    problem = _zip_problem(data)
    if problem:
        raw.problem("", "", problem)
        return raw
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raw.problem("", "", f"not a readable XLSX workbook ({_reason(exc)})")
        return raw
    try:
        sheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
        rows = sheet.iter_rows()
        header_cells = next(rows, ())
        header = [str(c.value).strip() if c.value is not None else "" for c in header_cells]
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
    except Exception as exc:  # a damaged sheet can fail while streaming rows
        raw.problem("", "", f"not a readable XLSX workbook ({_reason(exc)})")
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
