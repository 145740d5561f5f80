"""Readers and writers of item files. Each module offers ``read(source, *, name=None) -> RawBank``
and ``write(items, path=None, *, bank=...) -> bytes``; :mod:`competency.tests_bank.bankio`
chooses one by file name."""

from __future__ import annotations

from pathlib import Path

MAX_FILE_BYTES = 20 * 1024 * 1024  # refuse bigger uploads before parsing


def load(source: str | Path | bytes, name: str | None) -> tuple[bytes, str]:
    """The file's bytes and the name problems are reported under."""
    if isinstance(source, bytes):
        return source, name or "upload"
    path = Path(source)
    return path.read_bytes(), name or path.name


def save(data: bytes, path: str | Path | None) -> bytes:
    if path is not None:
        Path(path).write_bytes(data)
    return data
