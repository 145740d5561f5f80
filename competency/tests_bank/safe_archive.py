"""Bounded reading of uploaded archives, workbooks, XML and JSON: the one guard every upload path uses.

A small upload can unpack to gigabytes (a "zip bomb": an XLSX's shared strings, a QTI package) or
nest so deeply that a recursive reader overflows. Every import — cohort people (CSV/XLSX), item
banks (JSON, CSV, XLSX, GIFT, QTI 2.1/3.0 XML and zip) and, later, pilot-application attachments —
goes through these functions, so the bounds live in one place:

* :func:`check_zip` reads only the zip's central directory, so it refuses a bomb before anything
  is inflated: too many entries, too large unpacked (declared sizes), or an implausible
  compression ratio. Python's zipfile never inflates a member past the size its directory
  declares, so the declared total bounds the work of every later reader.
* :func:`verify_zip` then inflates each member in bounded chunks and checks its CRC, so a
  directory that lies about sizes is refused with a clear message instead of failing deep inside
  openpyxl or the QTI reader.
* :func:`xlsx_rows` streams a worksheet's rows with a row, column and time bound.
* :func:`parse_xml` parses with defusedxml (no DTDs, entities or external references) and counts
  depth and elements while parsing, so deep nesting is refused before any recursive code sees it.
* :func:`load_json` refuses too deep or too large JSON without recursing.

Everything raises :class:`UploadRefused` (a ``ValueError``) with a ``code`` and an English
``message``; callers translate the code for people. Pure: no Flask, no database.
"""

from __future__ import annotations

import io
import json
import time
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from xml.etree import ElementTree as ET

import defusedxml
from defusedxml.ElementTree import DefusedXMLParser


class UploadRefused(ValueError):
    """An upload exceeded a bound or was damaged; nothing was read past the point of refusal."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Limits:
    """Bounds for one kind of upload. Sizes are bytes; ``seconds`` is a budget for the whole read."""

    max_entries: int = 2000
    max_total_bytes: int = 64 * 1024 * 1024
    max_entry_bytes: int = 32 * 1024 * 1024
    # Text and XML compress about 5–20×; 200× is only reached by padding made to inflate.
    max_ratio: float = 200.0
    max_rows: int = 20000
    max_columns: int = 64
    max_xml_depth: int = 64
    max_xml_elements: int = 500_000
    max_json_depth: int = 32
    seconds: float = 20.0

    def with_changes(self, **changes: Any) -> Limits:
        return replace(self, **changes)


# A class list of 2,000 rows is well under 1 MB unpacked; 8 MB leaves room for styles and padding.
PEOPLE_LIMITS = Limits(
    max_entries=200, max_total_bytes=8 * 1024 * 1024, max_entry_bytes=8 * 1024 * 1024, max_rows=2000
)
# Item banks: 20,000 rows of items with HTML stems, or a QTI package of that many item files.
ITEM_LIMITS = Limits(max_entries=20001, max_total_bytes=64 * 1024 * 1024, max_entry_bytes=32 * 1024 * 1024)
# Pilot-application attachments (to come): a document or a zip of them, not a data set.
ATTACHMENT_LIMITS = Limits(
    max_entries=500, max_total_bytes=32 * 1024 * 1024, max_entry_bytes=16 * 1024 * 1024
)


class Deadline:
    """A time budget checked between units of work (rows, members, chunks)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise UploadRefused(
                "too_slow",
                f"reading the file took longer than {self.seconds:g} s; split it into smaller files",
            )


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def check_zip(data: bytes, limits: Limits) -> zipfile.ZipFile:
    """Open a zip after checking its directory against ``limits``; nothing is inflated here."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise UploadRefused("not_zip", "not a readable zip archive") from exc
    members = archive.infolist()
    if len(members) > limits.max_entries:
        archive.close()
        raise UploadRefused(
            "too_many_entries", f"the archive holds {len(members)} files; at most {limits.max_entries}"
        )
    total = 0
    for info in members:
        if info.file_size > limits.max_entry_bytes:
            archive.close()
            raise UploadRefused(
                "too_large_unpacked",
                f"{info.filename} unpacks to more than {_mb(limits.max_entry_bytes)}",
            )
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            archive.close()
            raise UploadRefused(
                "suspicious_compression",
                f"{info.filename} is compressed {info.file_size // max(info.compress_size, 1)}×; "
                "that only happens in files made to exhaust the server",
            )
        total += info.file_size
    if total > limits.max_total_bytes:
        archive.close()
        raise UploadRefused(
            "too_large_unpacked", f"the archive unpacks to more than {_mb(limits.max_total_bytes)}"
        )
    return archive


def read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, deadline: Deadline | None = None
) -> bytes:
    """One member's bytes, inflated in chunks and never past its declared (checked) size."""
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(256 * 1024):
                size += len(chunk)
                if size > min(info.file_size, limits.max_entry_bytes):
                    raise UploadRefused(
                        "lying_directory", f"{info.filename} is larger than its directory says"
                    )
                chunks.append(chunk)
                if deadline:
                    deadline.check()
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
        raise UploadRefused(
            "damaged_zip", f"{info.filename} is damaged or its size does not match the archive's directory"
        ) from exc
    if size != info.file_size:
        raise UploadRefused("lying_directory", f"{info.filename} is not the size its directory says")
    return b"".join(chunks)


def verify_zip(archive: zipfile.ZipFile, limits: Limits, deadline: Deadline | None = None) -> None:
    """Inflate every member once (bounded, CRC-checked) so a damaged or lying archive is refused up front."""
    deadline = deadline or Deadline(limits.seconds)
    for info in archive.infolist():
        if not info.is_dir():
            read_member(archive, info, limits, deadline)


def checked_zip(data: bytes, limits: Limits) -> zipfile.ZipFile:
    """:func:`check_zip` then :func:`verify_zip`: an archive every later reader may open safely."""
    archive = check_zip(data, limits)
    try:
        verify_zip(archive, limits)
    except UploadRefused:
        archive.close()
        raise
    return archive


def open_workbook(data: bytes, limits: Limits, *, data_only: bool = True):
    """An openpyxl read-only workbook, opened only after the zip passed :func:`checked_zip`."""
    from openpyxl import load_workbook

    checked_zip(data, limits).close()
    try:
        with warnings.catch_warnings():
            # Workbooks saved by other tools often lack a default style; openpyxl warns, we don't care.
            warnings.simplefilter("ignore", UserWarning)
            return load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except UploadRefused:
        raise
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise UploadRefused("not_xlsx", f"not a readable XLSX workbook ({refusal_reason(exc)})") from exc


def xlsx_rows(
    sheet, limits: Limits, *, values_only: bool = True, deadline: Deadline | None = None
) -> Iterator:
    """A worksheet's rows, at most ``max_rows + 1`` (so a caller can tell "too many") and ``max_columns``
    wide, within the time budget; a sheet whose stated dimensions are absurd is not padded out."""
    deadline = deadline or Deadline(limits.seconds)
    stated = getattr(sheet, "max_column", None)  # from the sheet's <dimension>, which a file may inflate
    width = min(limits.max_columns, stated) if isinstance(stated, int) and stated > 0 else limits.max_columns
    rows = sheet.iter_rows(max_col=width, max_row=limits.max_rows + 1, values_only=values_only)
    for count, row in enumerate(rows):
        if count % 64 == 0:
            deadline.check()
        yield row


def refusal_reason(exc: BaseException) -> str:
    """The exception's name, naming a defusedxml refusal anywhere in its chain."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, defusedxml.DefusedXmlException):
            return f"refused XML: {type(cause).__name__}"
        cause = cause.__cause__ or cause.__context__
    return type(exc).__name__


class _TooDeep(Exception):
    pass


class _BoundedBuilder(ET.TreeBuilder):
    """Builds the tree while counting depth and elements, refusing as soon as a bound is passed."""

    def __init__(self, limits: Limits) -> None:
        super().__init__()
        self.limits = limits
        self.depth = 0
        self.elements = 0

    def start(self, tag, attrs):
        self.depth += 1
        self.elements += 1
        if self.depth > self.limits.max_xml_depth:
            raise _TooDeep(f"elements nested more than {self.limits.max_xml_depth} deep")
        if self.elements > self.limits.max_xml_elements:
            raise _TooDeep(f"more than {self.limits.max_xml_elements} elements")
        return super().start(tag, attrs)

    def end(self, tag):
        self.depth -= 1
        return super().end(tag)


def parse_xml(data: bytes, limits: Limits) -> ET.Element:
    """Parse XML with defusedxml and the depth/element bounds; raises UploadRefused or ET.ParseError."""
    parser = DefusedXMLParser(
        target=_BoundedBuilder(limits), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(data)
        return parser.close()
    except _TooDeep as exc:
        raise UploadRefused("xml_too_deep", str(exc)) from exc
    except defusedxml.DefusedXmlException as exc:
        raise UploadRefused(
            "xml_refused",
            f"refused XML: {type(exc).__name__} (DTDs, entities and external references are not allowed)",
        ) from exc


def json_depth(value: Any, limit: int) -> int:
    """The nesting depth of a parsed JSON value, walked without recursion; stops once past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def load_json(text: str | bytes, limits: Limits, **loads_options: Any) -> Any:
    """``json.loads`` that refuses nesting past ``max_json_depth`` (and recursion overflow) cleanly.

    ``json.JSONDecodeError`` still propagates for malformed text, so callers can name the line.
    """
    try:
        value = json.loads(text, **loads_options)
    except RecursionError as exc:
        raise UploadRefused("json_too_deep", f"JSON nested more than {limits.max_json_depth} deep") from exc
    if json_depth(value, limits.max_json_depth) > limits.max_json_depth:
        raise UploadRefused("json_too_deep", f"JSON nested more than {limits.max_json_depth} deep")
    return value


__all__ = [
    "ATTACHMENT_LIMITS",
    "Deadline",
    "ITEM_LIMITS",
    "Limits",
    "PEOPLE_LIMITS",
    "UploadRefused",
    "check_zip",
    "checked_zip",
    "json_depth",
    "load_json",
    "open_workbook",
    "parse_xml",
    "read_member",
    "verify_zip",
    "xlsx_rows",
]
