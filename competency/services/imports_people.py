"""Importing cohort members from CSV or XLSX: every row is checked first, then all are added or none."""

from __future__ import annotations

import csv
import io
import zipfile
from itertools import islice

from flask_babel import gettext as _
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select

from competency.extensions import db
from competency.models import Cohort, CohortMembership, Role, User
from competency.services import audit
from competency.services.errors import ServiceError
from competency.tests_bank.safe_archive import PEOPLE_LIMITS, UploadRefused, open_workbook, xlsx_rows

MAX_ROWS = 2000


class ImportRejected(ServiceError):
    """The file was refused; ``errors`` lists (row number, message) for every bad row."""

    def __init__(self, errors: list[tuple[int, str]]):
        super().__init__(
            "import_rejected",
            _("Nothing was imported: %(count)s rows have errors.", count=len(errors)),
            "file",
        )
        self.errors = errors


def refusal_message(exc: UploadRefused) -> str:
    """A person's message for an upload refused by the shared limits (tests_bank.safe_archive)."""
    messages = {
        "too_many_entries": _("The file was refused: it holds too many parts."),
        "too_large_unpacked": _("The file was refused: it is too large when unpacked."),
        "suspicious_compression": _("The file was refused: it unpacks to far more than its size."),
        "lying_directory": _("The file was refused: it is damaged (its parts are not the size it says)."),
        "damaged_zip": _("The file was refused: it is damaged (its parts are not the size it says)."),
        "too_slow": _("The file was refused: reading it took too long; split it into smaller files."),
        "xml_too_deep": _("The file was refused: its XML is nested too deeply."),
        "json_too_deep": _("The file was refused: its JSON is nested too deeply."),
    }
    return messages.get(exc.code, _("The file is not a readable XLSX workbook."))


def _rows_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # Excel on Chinese Windows saves CSV in GBK
        except UnicodeDecodeError as exc:
            raise ServiceError("bad_encoding", _("The file is neither UTF-8 nor GBK text."), "file") from exc
    try:
        return list(islice(csv.reader(io.StringIO(text)), MAX_ROWS + 2))
    except csv.Error as exc:
        raise ServiceError(
            "bad_csv", _("The file is not valid CSV: %(problem)s", problem=str(exc)), "file"
        ) from exc


def _rows_xlsx(data: bytes) -> list[list[str]]:
    limits = PEOPLE_LIMITS.with_changes(max_rows=MAX_ROWS + 1)  # one more than allowed tells "too many"
    try:
        book = open_workbook(data, limits)
        try:
            sheet = book.worksheets[0]
            rows = [["" if v is None else str(v).strip() for v in row] for row in xlsx_rows(sheet, limits)]
        finally:
            book.close()
    except UploadRefused as exc:
        raise ServiceError("upload_refused", refusal_message(exc), "file") from exc
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, IndexError) as exc:
        raise ServiceError("bad_file", _("The file is not a readable XLSX workbook."), "file") from exc
    return rows


def read_rows(filename: str, data: bytes) -> list[list[str]]:
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        return _rows_xlsx(data)
    if name.endswith(".csv") or name.endswith(".txt"):
        return _rows_csv(data)
    raise ServiceError("bad_type", _("Upload a .csv or .xlsx file."), "file")


def import_members(cohort: Cohort, filename: str, data: bytes, actor: User) -> int:
    """Add the people named in the file's ``username`` column; returns how many were added.

    Row numbers in errors are the spreadsheet's (the header is row 1). People already in the cohort
    are skipped, not reported as errors, so the same class list can be imported twice.
    """
    rows = read_rows(filename, data)
    if not rows or not any(c.strip() for c in rows[0]):
        raise ServiceError("empty_file", _("The file is empty."), "file")
    header = [c.strip().lower().lstrip("\ufeff") for c in rows[0]]
    if "username" not in header:
        raise ServiceError("missing_column", _("The first row must name a column username."), "file")
    if len(rows) - 1 > MAX_ROWS:
        raise ServiceError("too_many_rows", _("At most %(n)s rows per file.", n=MAX_ROWS), "file")
    col = header.index("username")
    wanted: list[tuple[int, str]] = []
    for number, row in enumerate(rows[1:], start=2):
        name = row[col].strip() if col < len(row) else ""
        if not name and not any(c.strip() for c in row):
            continue  # blank line
        wanted.append((number, name))
    names = {n for _, n in wanted if n}
    users = (
        {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(names)))}
        if names
        else {}
    )
    members = {m.user_id for m in cohort.memberships}
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    to_add: list[User] = []
    for number, name in wanted:
        user = users.get(name)
        if not name:
            errors.append((number, _("the user name is empty")))
        elif name in seen:
            errors.append((number, _("%(name)s is already on row %(row)s", name=name, row=seen[name])))
        elif user is None or user.institution_id != cohort.institution_id:
            errors.append((number, _("no person %(name)s in this institution", name=name)))
        elif user.role not in (Role.TEACHER, Role.STUDENT):
            errors.append((number, _("%(name)s is not a teacher or student", name=name)))
        elif user.id not in members:
            to_add.append(user)
        seen.setdefault(name, number)
    if errors:
        raise ImportRejected(errors)
    if not wanted:
        raise ServiceError("empty_file", _("The file has no rows below the header."), "file")
    for user in to_add:
        db.session.add(CohortMembership(cohort_id=cohort.id, user_id=user.id))
    audit.record(
        "cohort.import",
        "cohort",
        cohort.id,
        actor=actor,
        detail={"file": filename[:100], "added": len(to_add), "rows": len(wanted)},
    )
    db.session.commit()
    return len(to_add)
