"""Background jobs: enqueue and run (immediate mode and through a real SQLite queue), idempotency,
failure with a reason, recovery after a worker stopped, the job page, its status JSON and download."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest

from competency import create_app
from competency.extensions import db
from competency.models import Job, utcnow
from competency.services import jobs, jobs_queue
from competency.services.errors import ServiceError
from tests.app.conftest import api_token, login

CALLS: list[dict] = []


@jobs.job_handler("test_write", label="Test export")
def _write(ctx: jobs.JobContext, payload: dict) -> dict:
    CALLS.append(payload)
    path = ctx.file("out.csv")
    rows = int(payload.get("rows", 3))
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            fh.write(f"{i}\n")
            ctx.progress(i + 1, rows, "rows written")
    return {"rows": rows}


@jobs.job_handler("test_fail")
def _fail(ctx: jobs.JobContext, payload: dict) -> None:
    CALLS.append(payload)
    ctx.file("partial.csv").write_text("half")
    raise ServiceError("broken", "the source table is missing")


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()


@pytest.fixture
def owner(make_user):
    return make_user("trainer", "coach")


def test_a_job_runs_with_progress_result_and_file(app, owner):
    job = jobs.enqueue("test_write", {"rows": 4}, owner_id=owner.id)
    assert job.status == "done" and job.result == {"rows": 4} and job.attempts == 1
    assert (job.progress_done, job.progress_total, job.progress_message) == (4, 4, "rows written")
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at
    assert jobs.download_path(job).read_text() == "0\n1\n2\n3\n"
    assert jobs.status_view(job)["progress"]["percent"] == 100


def test_the_same_key_is_the_same_job_and_runs_once(app, owner, make_user):
    first = jobs.enqueue("test_write", {"rows": 2}, owner_id=owner.id, idempotency_key="cohort-7:v1")
    again = jobs.enqueue("test_write", {"rows": 2}, owner_id=owner.id, idempotency_key="cohort-7:v1")
    assert again.id == first.id and len(CALLS) == 1
    other = make_user("trainer", "coach2")
    theirs = jobs.enqueue("test_write", {"rows": 2}, owner_id=other.id, idempotency_key="cohort-7:v1")
    newer = jobs.enqueue("test_write", {"rows": 2}, owner_id=owner.id, idempotency_key="cohort-7:v2")
    assert len({first.id, theirs.id, newer.id}) == 3 and len(CALLS) == 3


def test_a_failing_handler_fails_its_job_with_the_reason(app, owner):
    job = jobs.enqueue("test_fail", {}, owner_id=owner.id, idempotency_key="k")
    assert job.status == "failed" and job.error == "the source table is missing"
    assert jobs.download_path(job) is None and not (jobs.files_dir() / str(job.id)).exists()
    retried = jobs.enqueue("test_fail", {}, owner_id=owner.id, idempotency_key="k")
    assert retried.id == job.id and len(CALLS) == 2  # asked again after a failure: run again, same row


def test_unknown_kind_and_bad_payload_are_refused(app, owner):
    with pytest.raises(ServiceError) as unknown:
        jobs.enqueue("no_such_kind", {}, owner_id=owner.id)
    assert unknown.value.field == "kind"
    with pytest.raises(ServiceError) as bad:
        jobs.enqueue("test_write", ["rows"], owner_id=owner.id)
    assert bad.value.field == "payload"


def test_a_message_delivered_twice_runs_once(app, owner):
    job = jobs.enqueue("test_write", {"rows": 1}, owner_id=owner.id)
    jobs.run(job.id)
    assert len(CALLS) == 1


def _orphan(owner, worker: str, *, attempts: int = 1, heartbeat_age: float = 0) -> Job:
    beat = utcnow() - timedelta(seconds=heartbeat_age)
    job = Job(
        kind="test_write",
        owner_id=owner.id,
        payload={"rows": 2},
        status="running",
        worker=worker,
        attempts=attempts,
        started_at=beat,
        heartbeat_at=beat,
    )
    db.session.add(job)
    db.session.commit()
    return job


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_jobs_of_a_stopped_worker_are_requeued_once_then_failed(app, owner):
    dead = f"{jobs.HOST}:{_dead_pid()}:0000"
    requeued = _orphan(owner, dead)
    exhausted = _orphan(owner, dead, attempts=2)
    alive = _orphan(owner, jobs.worker_name())  # this process, running it now
    elsewhere = _orphan(owner, "other-host:1:abcd")  # another host, heartbeat fresh
    silent = _orphan(owner, "other-host:2:abcd", heartbeat_age=3600)  # another host, long silent
    changed = dict(jobs.recover())
    assert changed == {requeued.id: "queued", exhausted.id: "failed", silent.id: "queued"}
    for job in (requeued, exhausted, alive, elsewhere, silent):
        db.session.refresh(job)
    assert requeued.status == "done" and requeued.attempts == 2  # immediate mode: run again at once
    assert silent.status == "done"
    assert exhausted.status == "failed" and "stopped" in exhausted.error
    assert alive.status == "running" and elsewhere.status == "running"


def test_an_earlier_process_with_this_pid_counts_as_stopped(app, owner):
    job = _orphan(owner, f"{jobs.HOST}:{os.getpid()}:{'x' * 8}")
    assert dict(jobs.recover()) == {job.id: "queued"}


def test_a_real_sqlite_queue_carries_the_job_to_a_consumer(app_config, tmp_path, seeded):
    app = create_app(
        {
            **app_config,
            "TESTING": False,
            "JOBS_BACKEND": "sqlite",
            "JOBS_SQLITE_PATH": str(tmp_path / "queue.sqlite3"),
            "JOBS_FILES_DIR": str(tmp_path / "files"),
        }
    )
    with app.app_context():
        from competency.services import accounts

        inst_owner = accounts.create_user("queue_owner", "correct-horse-battery", "platform_admin")
        try:
            job = jobs.enqueue("test_write", {"rows": 3}, owner_id=inst_owner.id)
            assert job.status == "queued" and CALLS == []  # on the queue, not run by the request
            huey = jobs_queue.queue(app)
            assert len(huey) == 1
            huey.execute(huey.dequeue())  # what a consumer's worker does with the message
            db.session.refresh(job)
            assert job.status == "done" and (tmp_path / "files" / str(job.id) / "out.csv").is_file()
        finally:
            db.session.execute(db.delete(Job))
            db.session.delete(inst_owner)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()


def test_backend_setting_is_checked(app_config):
    assert jobs_queue.backend_of(create_app(app_config)) == "immediate"
    assert jobs_queue.backend_of(create_app({**app_config, "TESTING": False})) == "sqlite"
    with pytest.raises(ValueError, match="JOBS_BACKEND"):
        jobs_queue.backend_of(create_app({**app_config, "JOBS_BACKEND": "rabbit"}))


def test_page_status_and_download_for_the_owner_only(app, client, owner, make_user):
    job = jobs.enqueue("test_write", {"rows": 2}, owner_id=owner.id)
    stranger = make_user("trainer", "other")
    make_user("platform_admin", "root")
    login(client, "coach")
    page = client.get(f"/jobs/{job.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Test export" in html and f"/jobs/{job.id}/download" in html and "job_progress.js" in html
    status = client.get(f"/jobs/{job.id}/status").get_json()
    assert status["status"] == "done" and status["download_url"] == f"/jobs/{job.id}/download"
    download = client.get(f"/jobs/{job.id}/download")
    assert download.status_code == 200 and download.data == b"0\n1\n"
    assert "attachment" in download.headers["Content-Disposition"]
    other = app.test_client()
    login(other, stranger.username)
    for url in (f"/jobs/{job.id}", f"/jobs/{job.id}/status", f"/jobs/{job.id}/download", "/jobs/99999"):
        assert other.get(url).status_code == 404, url
    admin = app.test_client()
    login(admin, "root")
    assert admin.get(f"/jobs/{job.id}/download").status_code == 200
    assert app.test_client().get(f"/jobs/{job.id}").status_code == 302  # anonymous: to the login page


def test_running_job_page_refreshes_itself(client, owner):
    job = Job(
        kind="test_write",
        owner_id=owner.id,
        payload={},
        status="running",
        progress_done=3,
        progress_total=10,
        progress_message="rows written",
    )
    db.session.add(job)
    db.session.commit()
    login(client, "coach")
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'role="status"' in html and 'value="3"' in html and 'max="10"' in html
    assert f'data-status-url="/jobs/{job.id}/status"' in html
    assert client.get(f"/jobs/{job.id}/download").status_code == 404  # nothing to download yet


def test_json_api_polls_a_job(client, owner, make_user):
    job = jobs.enqueue("test_write", {"rows": 1}, owner_id=owner.id)
    make_user("trainer", "other")
    body = client.get(
        f"/api/v1/jobs/{job.id}", headers={"Authorization": f"Bearer {api_token(client, 'coach')}"}
    )
    assert body.status_code == 200 and body.get_json()["progress"]["total"] == 1
    other = client.get(
        f"/api/v1/jobs/{job.id}", headers={"Authorization": f"Bearer {api_token(client, 'other')}"}
    )
    assert other.status_code == 404
    assert client.get(f"/api/v1/jobs/{job.id}").status_code == 401


def test_old_finished_jobs_are_purged_with_their_files(app, owner):
    old = jobs.enqueue("test_write", {"rows": 1}, owner_id=owner.id)
    recent = jobs.enqueue("test_write", {"rows": 1}, owner_id=owner.id)
    running = _orphan(owner, jobs.worker_name())
    old.finished_at = utcnow() - timedelta(days=8)
    running.started_at = utcnow() - timedelta(days=9)
    db.session.commit()
    folder = jobs.files_dir() / str(old.id)
    assert folder.is_dir()
    assert jobs.purge() == 1
    assert not folder.exists() and db.session.get(Job, old.id) is None
    assert db.session.get(Job, recent.id) is not None and db.session.get(Job, running.id) is not None
