"""One local time: the certificate's paper date, exports and pages show Beijing time and say so."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime

import pytest

from competency.extensions import db
from competency.localtime import local_date, local_iso, offset_label, to_local
from competency.pdf import render_certificate
from competency.services import certificates
from tests.app.outcomes_factory import make_assessment, make_attempt

LATE = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)  # 07:30 on 5 December in Beijing


def test_helpers_convert_utc_to_beijing_and_name_the_zone():
    assert local_date(LATE) == "2026-12-05"
    assert local_date(LATE, "America/New_York") == "2026-12-04"
    assert local_date(LATE, "UTC") == "2026-12-04"
    assert local_iso(LATE) == "2026-12-05T07:30:00+08:00"
    assert to_local(LATE.replace(tzinfo=None)).hour == 7  # naive values are UTC
    assert local_date(LATE, "No/Such_Zone") == "2026-12-05"  # unknown zone: Beijing time
    assert offset_label(at=LATE) == "Asia/Shanghai, UTC+08:00"
    assert local_date(None) == "" and local_iso(None) is None


def test_certificate_issued_2330_utc_prints_the_next_beijing_day(app, make_user, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed")
    teacher = make_user("teacher", "late", display_name="晚班教师")
    attempt = make_attempt(teacher, make_assessment(), {"T1": "L3"}, overall="L3")
    attempt.finished_at = LATE
    cert = certificates.issue_for_attempt(attempt)
    db.session.commit()
    assert cert.issued_at == LATE
    path = tmp_path / "c.pdf"
    path.write_bytes(render_certificate(cert, f"http://localhost/verify/{cert.code}"))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Issued: 2026-12-05" in text
    assert "2026-12-04" not in text
    assert "Beijing time" in text and "北京时间" in text
