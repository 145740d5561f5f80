"""Attachments of applications: type checked by content, size-limited, kept under the instance folder.

A file's name and the browser's content type say nothing reliable, so the bytes decide: a PDF starts
with ``%PDF-``; a Word document is a ZIP archive holding ``word/document.xml``. A ZIP is only read
through its central directory, with bounds on the number of entries and their declared uncompressed
size, so a crafted archive (a "zip bomb") is refused before anything is expanded.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import zipfile
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from competency.services.errors import ServiceError

MAX_ZIP_ENTRIES = 2000
MAX_ZIP_UNCOMPRESSED = 100 * 1024 * 1024


def max_bytes() -> int:
    return int(current_app.config.get("PILOT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def storage_dir() -> Path:
    """Outside the web root: the app serves only static/, and these go through an authorised view."""
    folder = Path(current_app.config["INSTANCE_DIR"]) / "pilot_attachments"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _is_docx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                return False
            if sum(e.file_size for e in entries) > MAX_ZIP_UNCOMPRESSED:
                return False
            names = {e.filename for e in entries}
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    return "word/document.xml" in names and "[Content_Types].xml" in names


def detect_type(data: bytes) -> str | None:
    """'pdf', 'docx', or None for anything else."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if _is_docx(data):
        return "docx"
    return None


def check(data: bytes, filename: str, kind: str) -> str:
    """The file's type, or a ServiceError naming the `file` field."""
    if not data:
        raise ServiceError("empty_file", _("The file is empty."), "file")
    limit = max_bytes()
    if len(data) > limit:
        raise ServiceError(
            "file_too_large",
            _("The file is larger than %(mb)s MB.", mb=f"{limit / 1024 / 1024:g}"),
            "file",
            status=413,
        )
    file_type = detect_type(data)
    if file_type is None:
        raise ServiceError(
            "file_type",
            _("“%(name)s” is neither a PDF nor a Word (.docx) document.", name=filename[:100]),
            "file",
        )
    if kind == "stamped_scan" and file_type != "pdf":
        raise ServiceError("file_type", _("The stamped application form must be a PDF scan."), "file")
    return file_type


def store(data: bytes) -> tuple[str, str]:
    """Write the bytes under a random name; returns (storage name, SHA-256)."""
    name = secrets.token_hex(20)
    (storage_dir() / name).write_bytes(data)
    return name, hashlib.sha256(data).hexdigest()


def path_of(storage_name: str) -> Path:
    return storage_dir() / storage_name


def remove(storage_name: str) -> None:
    path_of(storage_name).unlink(missing_ok=True)
