"""Programme dashboards for officers: the funnel, counts by status, type, industry and region, and exports."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from competency.extensions import db
from competency.models import PilotApplication
from competency.services.exports import neutralise
from competency.services.pilot_applications import STAGE

# Funnel steps: an application counts in every step it reached (a designated unit was also submitted).
FUNNEL = (
    ("drafts", 0),
    ("submitted", 1),
    ("screened", 2),
    ("diagnosed", 3),
    ("reviewed", 4),
    ("selected", 5),
    ("designated", 6),
)


def province(region: str) -> str:
    """The province-level part of a region ("广东省深圳市" → "广东省"), for grouping."""
    region = (region or "").strip()
    for marker in ("自治区", "省", "市"):
        at = region.find(marker)
        if at > 0:
            return region[: at + len(marker)]
    return region or "—"


def applications(call_id: int | None = None) -> list[PilotApplication]:
    stmt = select(PilotApplication).options(joinedload(PilotApplication.institution)).order_by(PilotApplication.id)
    if call_id is not None:
        stmt = stmt.where(PilotApplication.call_id == call_id)
    return list(db.session.scalars(stmt))


def summary(call_id: int | None = None) -> dict:
    apps = applications(call_id)
    stages = [STAGE.get(a.status, 0) for a in apps]
    funnel = [(name, sum(1 for s in stages if s >= level)) for name, level in FUNNEL]
    # Rejected and returned applications were submitted but did not pass screening; not-selected ones
    # were reviewed; the funnel keeps them in the steps they reached.
    by_status = Counter(a.status for a in apps)
    by_type = Counter((a.form or {}).get("institution_type") or a.institution.type for a in apps)
    by_industry = Counter(code for a in apps for code in (a.form or {}).get("industries") or [])
    by_region = Counter(province(a.institution.region) for a in apps)
    return {
        "total": len(apps),
        "funnel": funnel,
        "by_status": sorted(by_status.items(), key=lambda kv: STAGE.get(kv[0], 0)),
        "by_type": by_type.most_common(),
        "by_industry": by_industry.most_common(),
        "by_region": by_region.most_common(),
    }


HEADER = [
    "application_id",
    "call",
    "institution",
    "institution_type",
    "region",
    "industries",
    "status",
    "submitted_at",
    "diagnosis_score",
    "expert_score",
    "spread",
    "final_score",
    "rank",
]


def rows(call_id: int | None = None) -> Iterator[list[object]]:
    for a in applications(call_id):
        form = a.form or {}
        yield [
            a.id,
            a.call.title,
            form.get("unit_name") or a.institution.name,
            form.get("institution_type") or a.institution.type,
            a.institution.region,
            " ".join(form.get("industries") or []),
            a.status,
            a.submitted_at.isoformat() if a.submitted_at else None,
            a.diagnosis_score,
            a.expert_score,
            a.spread,
            a.final_score,
            a.rank,
        ]


def csv_stream(table: list[list[object]]) -> Iterator[bytes]:
    """CSV (UTF-8 with BOM, formula-safe), encoded and sent one row at a time; needs no app context."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")

    def flush() -> bytes:
        chunk = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return chunk.encode("utf-8")

    yield "\ufeff".encode()
    writer.writerow(HEADER)
    yield flush()
    for row in table:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
        yield flush()


def xlsx(call_id: int | None = None) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("applications")
    sheet.append(HEADER)
    for row in rows(call_id):
        sheet.append([neutralise(v) for v in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
