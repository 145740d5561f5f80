"""Exports: CSV with BOM and neutralised formulas, XLSX with text kept as text, per-response rows."""

from __future__ import annotations

import contextvars
import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from competency.extensions import db
from competency.models import Cohort, CohortAssignment, CohortMembership, utcnow
from competency.services.exports import FORMULA_PREFIXES, neutralise, to_csv, to_xlsx
from tests.app.conftest import login
from tests.app.outcomes_factory import make_assessment, make_attempt


@given(st.sampled_from(FORMULA_PREFIXES), st.text(max_size=20))
def test_formula_cells_are_neutralised(prefix, rest):
    value = prefix + rest
    assert neutralise(value) == "'" + value


@given(st.text(max_size=20).filter(lambda s: not s.startswith(FORMULA_PREFIXES)))
def test_other_text_is_unchanged(value):
    assert neutralise(value) == value


def test_numbers_stay_numbers():
    assert neutralise(-0.41) == -0.41 and neutralise(3) == 3


def test_csv_has_bom_and_round_trips_chinese():
    body = to_csv(["姓名", "theta"], [["王芳", -0.5], ["=1+2", None], ["−3", 1]])
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [["姓名", "theta"], ["王芳", "-0.5"], ["'=1+2", ""], ["'−3", "1"]]


def test_xlsx_keeps_text_as_text():
    book = load_workbook(io.BytesIO(to_xlsx(["name", "score"], [["@SUM(A1)", 2], ["王芳", -1.5]])))
    sheet = book.active
    assert sheet["A2"].value == "'@SUM(A1)" and sheet["A2"].data_type == "s"
    assert sheet["B3"].value == -1.5 and sheet["A3"].value == "王芳"


@pytest.fixture
def cohort_with_results(app, make_user, institution):
    trainer = make_user("trainer", "coach")
    teacher = make_user("teacher", "wang", display_name='=HYPERLINK("http://evil")')
    waiting = make_user("teacher", "li", display_name="李老师")
    cohort = Cohort(name="导出班", institution_id=institution.id, owner_id=trainer.id)
    db.session.add(cohort)
    db.session.flush()
    for user in (teacher, waiting):
        db.session.add(CohortMembership(cohort_id=cohort.id, user_id=user.id))
    assessment = make_assessment()
    assignment = CohortAssignment(
        cohort_id=cohort.id,
        assessment_id=assessment.id,
        opens_at=utcnow() - timedelta(days=1),
        closes_at=utcnow() + timedelta(days=1),
    )
    db.session.add(assignment)
    db.session.commit()
    attempt = make_attempt(teacher, assessment, {"T1": "L3", "T2": "L4"}, overall="L3", responses=3)
    return cohort, assignment, attempt, teacher


def test_results_export_csv(client, cohort_with_results):
    cohort, assignment, attempt, _teacher = cohort_with_results
    login(client, "coach")
    response = client.get(
        f"/trainer/cohorts/{cohort.id}/export?what=results&assignment={assignment.id}&format=csv"
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="cohort-' in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    by_name = {r["username"]: r for r in rows}
    assert by_name["wang"]["display_name"].startswith("'=HYPERLINK")
    assert by_name["wang"]["overall_level"] == "L3" and by_name["wang"]["T2_level"] == "L4"
    assert by_name["wang"]["attempt_id"] == str(attempt.id)
    assert by_name["li"]["state"] == "not_started" and by_name["li"]["display_name"] == "李老师"
    # Times are in the trainer's zone (Beijing by default), with the offset, and the header says so.
    finished = by_name["wang"]["finished_at (Asia/Shanghai)"]
    assert finished.endswith("+08:00")
    local = attempt.finished_at.astimezone(ZoneInfo("Asia/Shanghai")).replace(microsecond=0)
    assert finished == local.isoformat()


def test_responses_export_xlsx_is_pseudonymous(client, cohort_with_results):
    cohort, assignment, attempt, teacher = cohort_with_results
    login(client, "coach")
    response = client.get(
        f"/trainer/cohorts/{cohort.id}/export?what=responses&assignment={assignment.id}&format=xlsx"
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("person_id", "attempt_id", "assessment", "position", "item_id", "param_version")
    assert [r[3] for r in rows[1:]] == [1, 2, 3]
    assert {r[0] for r in rows[1:]} == {teacher.id}
    assert rows[1][8].startswith("'=HYPERLINK")  # a stored answer cannot become a formula either
    assert "wang" not in str(rows)


def test_members_export_and_bad_requests(client, cohort_with_results):
    cohort, *_ = cohort_with_results
    login(client, "coach")
    members = client.get(f"/trainer/cohorts/{cohort.id}/export?what=members&format=csv")
    assert members.status_code == 200 and "李老师" in members.data.decode("utf-8-sig")
    assert client.get(f"/trainer/cohorts/{cohort.id}/export?what=secrets").status_code == 400
    assert client.get(f"/trainer/cohorts/{cohort.id}/export?what=results").status_code == 400
    assert client.get(f"/trainer/cohorts/{cohort.id}/export?what=results&assignment=999").status_code == 404


def test_csv_is_produced_as_the_rows_arrive():
    from competency.services.exports import csv_chunks

    pulled = []

    def rows():
        for i in range(1200):
            pulled.append(i)
            yield [f"=row{i}", i]

    chunks = csv_chunks(["name", "n"], rows(), rows_per_chunk=500)
    assert next(chunks).startswith(b"\xef\xbb\xbfname,n") and pulled == []  # the header needs no row
    first = next(chunks)
    assert len(pulled) == 500 and first.count(b"\r\n") == 500  # one chunk's rows, not the whole table
    rest = b"".join(chunks)
    assert len(pulled) == 1200 and rest.count(b"\r\n") == 700 and b"'=row1199,1199" in rest


def test_exports_stream_from_the_view(app, client, cohort_with_results):
    cohort, assignment, *_ = cohort_with_results
    login(client, "coach")
    url = f"/trainer/cohorts/{cohort.id}/export?what=responses&assignment={assignment.id}&format=csv"

    def read_streamed():
        # Unbuffered, read and closed in one context of its own, as a server would.
        response = FlaskClient.open(client, url, buffered=False)
        try:
            return response.is_streamed, response.status_code, b"".join(response.response)
        finally:
            response.close()

    streamed, status, body = contextvars.Context().run(read_streamed)
    assert streamed and status == 200
    assert body.decode("utf-8-sig").count("\r\n") == 4  # the header and three responses
    xlsx = client.get(url.replace("format=csv", "format=xlsx"))
    assert xlsx.headers["Content-Disposition"].startswith("attachment;") and xlsx.data[:2] == b"PK"
