"""Exports above the size threshold run as background jobs: the same file, its owner only, once."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from competency.extensions import db
from competency.models import Job
from competency.services import export_jobs, jobs
from tests.app.conftest import login
from tests.app.test_exports import cohort_with_results  # noqa: F401 (fixture)


def _url(cohort, assignment, what="results", fmt="csv") -> str:
    return f"/trainer/cohorts/{cohort.id}/export?what={what}&assignment={assignment.id}&format={fmt}"


@pytest.fixture
def as_jobs(app):
    """Every export counts as large."""
    app.config.update(EXPORT_JOB_ROWS_CSV=0, EXPORT_JOB_ROWS_XLSX=0)
    yield
    app.config.pop("EXPORT_JOB_ROWS_CSV")
    app.config.pop("EXPORT_JOB_ROWS_XLSX")


@pytest.mark.parametrize("what", ["results", "responses", "members"])
def test_a_large_csv_export_is_a_job_with_the_same_file(app, client, cohort_with_results, what):  # noqa: F811
    cohort, assignment, *_ = cohort_with_results
    login(client, "coach")
    direct = client.get(_url(cohort, assignment, what))
    assert direct.status_code == 200 and direct.mimetype == "text/csv"
    app.config["EXPORT_JOB_ROWS_CSV"] = 0
    queued = client.get(_url(cohort, assignment, what))
    assert queued.status_code == 302 and "/jobs/" in queued.headers["Location"]
    job = db.session.scalar(select(Job))
    assert job.status == "done" and job.owner_id == cohort.owner_id and job.kind == "cohort_export"
    assert job.result["rows"] == job.progress_done == job.progress_total
    page = client.get(queued.headers["Location"]).get_data(as_text=True)
    assert f"/jobs/{job.id}/download" in page
    download = client.get(f"/jobs/{job.id}/download")
    assert download.status_code == 200 and download.data == direct.data
    assert f"cohort-{cohort.id}-{what}.csv" in download.headers["Content-Disposition"]
    app.config.pop("EXPORT_JOB_ROWS_CSV")


def test_a_large_xlsx_export_is_a_job(client, cohort_with_results, as_jobs):  # noqa: F811
    cohort, assignment, _attempt, teacher = cohort_with_results
    login(client, "coach")
    queued = client.get(_url(cohort, assignment, "responses", "xlsx"))
    job = db.session.scalar(select(Job))
    assert queued.status_code == 302 and job.status == "done" and job.result["rows"] == 3
    sheet = load_workbook(io.BytesIO(client.get(f"/jobs/{job.id}/download").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "person_id" and {r[0] for r in rows[1:]} == {teacher.id}


def test_asking_again_is_the_same_job(client, cohort_with_results, as_jobs):  # noqa: F811
    cohort, assignment, *_ = cohort_with_results
    login(client, "coach")
    first = client.get(_url(cohort, assignment))
    again = client.get(_url(cohort, assignment))
    assert first.headers["Location"] == again.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Job)) == 1
    other = client.get(_url(cohort, assignment, fmt="xlsx"))
    assert other.headers["Location"] != first.headers["Location"]


def test_only_the_owner_downloads(app, client, make_user, cohort_with_results, as_jobs):  # noqa: F811
    cohort, assignment, *_ = cohort_with_results
    make_user("trainer", "colleague")  # same institution: may export the cohort, not fetch this file
    login(client, "coach")
    location = client.get(_url(cohort, assignment)).headers["Location"]
    job = db.session.scalar(select(Job))
    colleague = app.test_client()
    login(colleague, "colleague")
    assert colleague.get(location).status_code == 404
    assert colleague.get(f"/jobs/{job.id}/download").status_code == 404
    assert client.get(f"/jobs/{job.id}/download").status_code == 200


def test_the_job_checks_its_owner_may_still_see_the_cohort(
    app,
    cohort_with_results,  # noqa: F811
    make_user,
    other_institution,
):
    cohort, assignment, *_ = cohort_with_results
    outsider = make_user("trainer", "outsider", inst=other_institution)
    job = jobs.enqueue(
        export_jobs.KIND,
        {"cohort_id": cohort.id, "what": "results", "format": "csv", "assignment_id": assignment.id},
        owner_id=outsider.id,
    )
    assert job.status == "failed" and job.error and jobs.download_path(job) is None


def test_small_exports_still_stream(client, cohort_with_results):  # noqa: F811
    cohort, assignment, *_ = cohort_with_results
    login(client, "coach")
    assert client.get(_url(cohort, assignment)).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0
