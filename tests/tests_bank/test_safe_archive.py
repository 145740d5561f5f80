"""The shared upload limits (issue 17, High 2 and Low 9): bombs, lying zips, deep XML and JSON are refused early."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook

from competency.tests_bank import bankio
from competency.tests_bank.safe_archive import (
    ITEM_LIMITS,
    PEOPLE_LIMITS,
    Limits,
    UploadRefused,
    check_zip,
    checked_zip,
    json_depth,
    load_json,
    open_workbook,
    parse_xml,
    xlsx_rows,
)


def xlsx_bomb(unpacked_mb: int = 170) -> bytes:
    """A valid-looking workbook whose shared strings unpack to ``unpacked_mb`` MB (the reported attack:
    a few hundred KB upload unpacking to ~170 MB). Written in streamed chunks, so building it is cheap."""
    book = Workbook()
    book.active.append(["username"])
    book.active.append(["somebody"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/sharedStrings.xml":
                target.writestr(info.filename, source.read(info))
        with target.open("xl/sharedStrings.xml", "w", force_zip64=True) as stream:
            stream.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>')
            chunk = b"A" * (1024 * 1024)
            for _ in range(unpacked_mb):
                stream.write(chunk)
            stream.write(b"</t></si></sst>")
    return out.getvalue()


def test_xlsx_bomb_is_refused_quickly_with_bounded_memory():
    bomb = xlsx_bomb()
    assert len(bomb) < 1024 * 1024  # small upload …
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(UploadRefused) as refused:
        open_workbook(bomb, PEOPLE_LIMITS)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert refused.value.code in {"too_large_unpacked", "suspicious_compression"}
    # The bound: refused in under 2 s; nothing near the unpacked size is ever allocated.
    assert elapsed < 2.0
    assert peak < 8 * 1024 * 1024


def test_bomb_within_item_limits_is_refused_by_ratio():
    """Even where the total limit is larger than the unpacked size, a 1000× ratio is refused."""
    bomb = xlsx_bomb(20)
    with pytest.raises(UploadRefused) as refused:
        check_zip(bomb, ITEM_LIMITS)
    assert refused.value.code == "suspicious_compression"
    problems = bankio.read_raw("bank.xlsx", data=bomb).problems
    assert problems and "compressed" in problems[0].message


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _lie_about_size(data: bytes, size: int) -> bytes:
    """Rewrite the central directory's uncompressed size of the first member."""
    at = data.index(b"PK\x01\x02")
    return data[: at + 24] + struct.pack("<I", size) + data[at + 28 :]


@pytest.mark.parametrize("declared", [10, 10_000_000])
def test_zip_whose_directory_lies_about_sizes_is_refused(declared):
    lying = _lie_about_size(_zip({"imsmanifest.xml": b"<manifest>" + b"x" * 5000 + b"</manifest>"}), declared)
    with pytest.raises(UploadRefused) as refused:
        checked_zip(lying, ITEM_LIMITS)
    assert refused.value.code in {"lying_directory", "damaged_zip", "suspicious_compression"}
    problems = bankio.read_raw("package.zip", data=lying).problems
    assert problems  # a clear problem, no exception


def test_too_many_entries_refused():
    many = _zip({f"f{i}.txt": b"" for i in range(30)})
    with pytest.raises(UploadRefused) as refused:
        check_zip(many, Limits(max_entries=20))
    assert refused.value.code == "too_many_entries"


def test_qti_with_50k_nested_elements_is_refused():
    deep = b"<a>" * 50_000 + b"</a>" * 50_000
    with pytest.raises(UploadRefused) as refused:
        parse_xml(deep, ITEM_LIMITS)
    assert refused.value.code == "xml_too_deep"
    problems = bankio.read_raw("item.xml", data=deep).problems
    assert problems and "nested" in problems[0].message


def test_xml_entities_are_refused():
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(UploadRefused):
        parse_xml(bomb, ITEM_LIMITS)


def test_json_nested_100k_deep_is_refused():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(UploadRefused):
        load_json(deep, ITEM_LIMITS)
    problems = bankio.read_raw("bank.json", data=deep.encode()).problems
    assert problems and "nested" in problems[0].message
    assert json_depth({"a": [[1]]}, 10) == 3


def test_absurd_sheet_dimensions_are_not_padded_out():
    book = Workbook()
    sheet = book.active
    sheet.append(["username"])
    sheet.cell(row=1, column=16384, value="far")  # widest possible sheet
    data = io.BytesIO()
    book.save(data)
    workbook = open_workbook(data.getvalue(), PEOPLE_LIMITS)
    rows = list(xlsx_rows(workbook.worksheets[0], PEOPLE_LIMITS))
    workbook.close()
    assert len(rows) == 1 and len(rows[0]) == PEOPLE_LIMITS.max_columns


def test_time_budget_refuses_slow_reads():
    book = Workbook()
    for i in range(200):
        book.active.append([f"user{i}"])
    data = io.BytesIO()
    book.save(data)
    workbook = open_workbook(data.getvalue(), PEOPLE_LIMITS)
    with pytest.raises(UploadRefused) as refused:
        list(xlsx_rows(workbook.worksheets[0], PEOPLE_LIMITS.with_changes(seconds=-1)))
    workbook.close()
    assert refused.value.code == "too_slow"
