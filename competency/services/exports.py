"""Exports as CSV (UTF-8 with BOM, formula-safe) and XLSX: results, cohort members, per-response data."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from openpyxl import Workbook

from competency.localtime import DEFAULT_ZONE, local_iso, zone
from competency.models import Cohort, CohortAssignment
from competency.services import cohort_summary
from competency.services.layering import progress_rows

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "−", "@", "\t", "\r", "＝", "＋", "－", "＠")

Table = tuple[list[str], Iterable[list[object]]]


def neutralise(value: object) -> object:
    """Text that a spreadsheet would evaluate gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[object]], rows_per_chunk: int = 500
) -> Iterator[bytes]:
    """The CSV as byte chunks (BOM first), produced as rows arrive: memory stays flat however many rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    yield buf.getvalue().encode("utf-8-sig")
    buf.seek(0)
    buf.truncate()
    pending = 0
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
        pending += 1
        if pending >= rows_per_chunk:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
            pending = 0
    if pending:
        yield buf.getvalue().encode("utf-8")


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    return b"".join(csv_chunks(header, rows))


def write_xlsx(
    header: Sequence[str], rows: Iterable[Sequence[object]], target: IO[bytes], title: str = "data"
) -> None:
    """Write-only workbook: openpyxl keeps the sheet in a temporary file, not in memory, row by row."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append([neutralise(h) for h in header])
    for row in rows:
        sheet.append([neutralise(v) for v in row])
    book.save(target)


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[object]], title: str = "data") -> bytes:
    buf = io.BytesIO()
    write_xlsx(header, rows, buf, title)
    return buf.getvalue()


def xlsx_file(header: Sequence[str], rows: Iterable[Sequence[object]], title: str = "data") -> IO[bytes]:
    """The workbook in a temporary file (deleted when closed), rewound for sending."""
    target = tempfile.TemporaryFile()  # noqa: SIM115 (send_file closes it after sending)
    try:
        write_xlsx(header, rows, target, title)
    except BaseException:
        target.close()
        raise
    target.seek(0)
    return target


def time_column(name: str, zone_name: str) -> str:
    """A time column's header names the zone its values are in (values also carry the offset)."""
    return f"{name} ({zone(zone_name).key})"


def results_table(assignment: CohortAssignment, zone_name: str = DEFAULT_ZONE) -> Table:
    """One row per member: state, overall level and θ/SE/level per dimension; times in ``zone_name``
    (rows are produced lazily)."""
    dims = [d["code"] for d in cohort_summary.summary(assignment).dimensions]
    header = ["username", "display_name", "state", "attempt_id", time_column("finished_at", zone_name), "overall_level"]  # fmt: skip
    for code in dims:
        header += [f"{code}_level", f"{code}_theta", f"{code}_se"]

    def rows() -> Iterator[list[object]]:
        for m in cohort_summary.result_rows(assignment):
            row: list[object] = [
                m.username,
                m.display_name,
                m.state,
                m.attempt_id,
                local_iso(m.finished_at, zone_name) if m.finished_at else None,
                m.overall_level,
            ]
            by_code = {d["code"]: d for d in m.result.get("dimensions", [])}
            for code in dims:
                d = by_code.get(code, {})
                row += [d.get("level"), d.get("theta"), d.get("se")]
            yield row

    return header, rows()


def members_table(cohort: Cohort) -> Table:
    header = ["username", "display_name", "role", "department", "layer", "tasks_done", "tasks_total"]
    rows = (
        [p.user.username, p.user.display_name, p.user.role, p.user.department, p.layer, p.done, p.total]
        for p in progress_rows(cohort)
    )
    return header, rows


def responses_table(assignment: CohortAssignment, zone_name: str = DEFAULT_ZONE) -> Table:
    """Per-response rows for recalibration elsewhere; people appear as numeric ids, not names."""
    header = ["person_id", "attempt_id", "assessment", "position", "item_id", "param_version", "score", "pilot", "answer", time_column("answered_at", zone_name)]  # fmt: skip
    code = assignment.assessment.code

    def rows() -> Iterator[list[object]]:
        for (
            user_id,
            attempt_id,
            position,
            item,
            version,
            score,
            pilot,
            answer,
            at,
        ) in cohort_summary.response_rows(assignment):
            value = (answer or {}).get("value")
            if isinstance(value, list):
                value = "|".join(str(v) for v in value)
            yield [
                user_id,
                attempt_id,
                code,
                position,
                item,
                version,
                score,
                int(pilot),
                None if value is None else str(value),
                local_iso(at, zone_name),
            ]

    return header, rows()
