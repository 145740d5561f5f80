"""Background jobs: register a handler for a kind, enqueue work, run it with progress, recover it.

A job is a row (models.Job); the queue (huey, services.jobs_queue) carries only its id. The public
contract, kept stable for every kind of job:

    @job_handler("results_export", label=_l("Results export"))
    def export_results(ctx: JobContext, payload: dict) -> dict | None:
        path = ctx.file("results.csv")              # where to write the job's download, if any
        ctx.progress(done, total, "rows written")   # updates the row, at most a few times a second
        return {"rows": n}                          # stored as Job.result (JSON)

    job = enqueue("results_export", {"assignment_id": 7}, owner_id=user.id, idempotency_key="7:v42")

`enqueue` commits (a worker must see the row before the message). The same key, kind and owner give
the same job, not a second run; a failed job asked for again is queued again on the same row.
A handler runs inside an application context with its own database session; what it writes is
committed when it returns and rolled back when it raises (the job is then `failed` with the reason).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from competency.extensions import db
from competency.models import Job, Role, User, utcnow
from competency.services import jobs_queue
from competency.services.errors import NotFound, ServiceError

log = logging.getLogger(__name__)

# Identifies this process among restarts: a pid can come back after a restart, this token cannot.
BOOT = secrets.token_hex(4)
HOST = socket.gethostname()

DEFAULTS = {
    "JOBS_HEARTBEAT_SECONDS": 15.0,  # a running job's row is touched this often by its worker
    "JOBS_STALE_SECONDS": 120.0,  # a running job untouched this long has lost its worker
    "JOBS_MAX_ATTEMPTS": 2,  # a job whose worker died is queued again once, then failed
    "JOBS_KEEP_DAYS": 7.0,  # finished jobs and their files are deleted after this many days
}
PROGRESS_EVERY = 0.5  # seconds between two progress writes (the last step is always written)


@dataclass(frozen=True)
class Handler:
    kind: str
    fn: Callable
    label: object  # a (lazy) string shown as the job page's title


_HANDLERS: dict[str, Handler] = {}


def job_handler(kind: str, *, label: object | None = None) -> Callable:
    """Register `fn(ctx, payload) -> dict | None` as the handler of jobs of `kind`."""

    def decorator(fn: Callable) -> Callable:
        if kind in _HANDLERS and _HANDLERS[kind].fn is not fn:
            raise ValueError(f"job kind {kind!r} already has a handler")
        _HANDLERS[kind] = Handler(kind, fn, label or kind)
        return fn

    return decorator


def handler_for(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


def setting(name: str):
    return current_app.config.get(name, DEFAULTS[name])


def files_dir() -> Path:
    """Where jobs write their downloads: shared by every app host and worker in production."""
    configured = current_app.config.get("JOBS_FILES_DIR") or os.environ.get("JOBS_FILES_DIR")
    return Path(configured or Path(current_app.config["INSTANCE_DIR"]) / "job-files")


# ----------------------------------------------------------------------------- enqueue


def _scoped_key(kind: str, owner_id: int | None, key: str) -> str:
    scoped = f"{kind}:{owner_id if owner_id is not None else '-'}:{key}"
    if len(scoped) <= 255:
        return scoped
    return f"{kind}:{owner_id}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def enqueue(kind: str, payload: dict, *, owner_id: int | None, idempotency_key: str | None = None) -> Job:
    """Create (or find) the job and hand it to the queue; commits the session."""
    jobs_queue.queue()  # builds the queue once, importing the modules that register handlers
    if kind not in _HANDLERS:
        raise ServiceError("unknown_job_kind", f"no handler is registered for job kind {kind!r}", "kind")
    if not isinstance(payload, dict):
        raise ServiceError("invalid_field", "the job payload must be a JSON object", "payload")
    key = _scoped_key(kind, owner_id, idempotency_key) if idempotency_key else None
    if key is not None:
        existing = db.session.scalar(select(Job).where(Job.idempotency_key == key))
        if existing is not None:
            return _again_if_failed(existing)
    job = Job(kind=kind, owner_id=owner_id, payload=payload, status="queued", idempotency_key=key)
    db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:  # the same key, enqueued at the same moment by another request
        db.session.rollback()
        existing = db.session.scalar(select(Job).where(Job.idempotency_key == key))
        if existing is None:
            raise
        return existing
    return _dispatch(job)


def _again_if_failed(job: Job) -> Job:
    if job.status != "failed":
        return job
    reset = db.session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == "failed")
        .values(
            status="queued", error=None, attempts=0, progress_done=0, progress_message="", finished_at=None
        )
    ).rowcount
    db.session.commit()
    db.session.refresh(job)
    return _dispatch(job) if reset else job


def _dispatch(job: Job) -> Job:
    jobs_queue.send(job.id)
    if jobs_queue.queue().immediate:
        db.session.refresh(job)  # it ran already, in its own session
    return job


# ----------------------------------------------------------------------------- running


class JobContext:
    """What a handler gets: the job's identity, progress reporting and a place for its file."""

    def __init__(self, job: Job):
        self.job_id = job.id
        self.kind = job.kind
        self.owner_id = job.owner_id
        self.file_name: str | None = None
        self._last = 0.0

    def file(self, name: str) -> Path:
        """The path to write the job's download to (one file per job; a second call replaces the first)."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"unsafe job file name {name!r}")
        folder = files_dir() / str(self.job_id)
        folder.mkdir(parents=True, exist_ok=True)
        self.file_name = name
        return folder / name

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Record how far the job got; written at most every PROGRESS_EVERY seconds, and at the end."""
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY and (total is None or done < total):
            return
        self._last = now
        _touch(
            self.job_id,
            progress_done=max(0, int(done)),
            progress_total=None if total is None else int(total),
            progress_message=str(message)[:300],
        )


def _touch(job_id: int, **values) -> None:
    """Update the row on a connection of its own: the handler's transaction stays its own.

    On SQLite a handler that is writing holds the database's only write lock; progress is advisory,
    so it waits a moment at most and is skipped rather than stall the job.
    """
    values["heartbeat_at"] = utcnow()
    engine = db.engine
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA busy_timeout=200")
            try:
                conn.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(**values))
            finally:
                if engine.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA busy_timeout=10000")
    except OperationalError as exc:
        log.info("job %s: progress not recorded (%s)", job_id, exc.__class__.__name__)


@contextmanager
def _heartbeat(job_id: int, app):
    """Touch the row every JOBS_HEARTBEAT_SECONDS while the handler runs, however long a step takes."""
    stop = threading.Event()
    interval = float(setting("JOBS_HEARTBEAT_SECONDS"))

    def beat() -> None:
        with app.app_context():
            while not stop.wait(interval):
                _touch(job_id)

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def worker_name() -> str:
    return f"{HOST}:{os.getpid()}:{BOOT}"


def run(job_id: int) -> None:
    """Claim and run one job (called by the queue's task inside an application context)."""
    now = utcnow()
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(
            status="running",
            started_at=now,
            heartbeat_at=now,
            worker=worker_name(),
            attempts=Job.attempts + 1,
        )
    ).rowcount
    db.session.commit()
    if not claimed:  # done, failed or running elsewhere: a message delivered twice runs once
        return
    job = db.session.get(Job, job_id)
    handler = _HANDLERS.get(job.kind)
    ctx = JobContext(job)
    result = None
    try:
        if handler is None:
            raise ServiceError("unknown_job_kind", f"no handler is registered for job kind {job.kind!r}")
        with _heartbeat(job_id, current_app._get_current_object()):
            result = handler.fn(ctx, dict(job.payload or {}))
            db.session.commit()
    except Exception as exc:  # noqa: BLE001 - any failure of a handler fails its job, with the reason
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        _remove_files(job_id)
        _finish(job_id, "failed", error=_reason(exc))
        return
    if result is not None and not isinstance(result, dict):
        result = {"value": result}
    _finish(job_id, "done", result=result, result_file=f"{job_id}/{ctx.file_name}" if ctx.file_name else None)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ServiceError):
        return exc.message
    return f"{exc.__class__.__name__}: {exc}"[:2000]


def _finish(job_id: int, status: str, **values) -> None:
    values = {"status": status, "finished_at": utcnow(), "heartbeat_at": utcnow(), **values}
    if status == "done":
        total = db.session.scalar(select(Job.progress_total).where(Job.id == job_id))
        if total is not None:
            values["progress_done"] = total
    db.session.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(**values))
    db.session.commit()


def _remove_files(job_id: int) -> None:
    shutil.rmtree(files_dir() / str(job_id), ignore_errors=True)


# ----------------------------------------------------------------------------- recovery


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_gone(worker: str | None) -> bool:
    """True when the worker named in the row is a process of this host that no longer runs."""
    host, _, rest = (worker or "").partition(":")
    pid, _, boot = rest.partition(":")
    if host != HOST or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return boot != BOOT  # an earlier process that had this pid
    return not _pid_alive(int(pid))


def recover() -> list[tuple[int, str]]:
    """Re-queue (once) or fail the jobs whose worker stopped; returns [(job id, new status)].

    A consumer calls this when it starts and then every few minutes: a row is orphaned when its worker
    was a process of this host that is gone, or when its heartbeat is older than JOBS_STALE_SECONDS
    (a host that died and never came back).
    """
    stale_before = utcnow() - timedelta(seconds=float(setting("JOBS_STALE_SECONDS")))
    max_attempts = int(setting("JOBS_MAX_ATTEMPTS"))
    running = db.session.execute(
        select(Job.id, Job.worker, Job.heartbeat_at, Job.attempts).where(Job.status == "running")
    ).all()
    changed: list[tuple[int, str]] = []
    for job_id, worker, heartbeat, attempts in running:
        if not (_worker_gone(worker) or heartbeat is None or heartbeat < stale_before):
            continue
        guard = (Job.id == job_id, Job.status == "running", Job.worker == worker)
        if attempts < max_attempts:
            values = {
                "status": "queued",
                "progress_message": "re-queued: its worker stopped while running it",
            }
        else:
            values = {
                "status": "failed",
                "finished_at": utcnow(),
                "error": f"its worker stopped while running it, {attempts} times; it was not started again",
            }
        if db.session.execute(update(Job).where(*guard).values(**values)).rowcount:
            changed.append((job_id, values["status"]))
        db.session.commit()
    for job_id, status in changed:
        log.warning("job %s: worker gone, now %s", job_id, status)
        if status == "queued":
            jobs_queue.send(job_id)
        else:
            _remove_files(job_id)
    return changed


def purge() -> int:
    """Delete the jobs finished more than JOBS_KEEP_DAYS ago, with their files; returns how many."""
    before = utcnow() - timedelta(days=float(setting("JOBS_KEEP_DAYS")))
    old = list(
        db.session.scalars(select(Job.id).where(Job.status.in_(("done", "failed")), Job.finished_at < before))
    )
    for job_id in old:
        _remove_files(job_id)
    if old:
        db.session.execute(delete(Job).where(Job.id.in_(old)))
    db.session.commit()
    return len(old)


# ----------------------------------------------------------------------------- reading


def visible_job(actor: User, job_id: int) -> Job:
    """The job, for its owner or a platform admin; anyone else is told it does not exist."""
    job = db.session.get(Job, job_id)
    if job is None or not (job.owner_id == actor.id or actor.role == Role.PLATFORM_ADMIN):
        raise NotFound("job_not_found", "no such job")
    return job


def download_path(job: Job) -> Path | None:
    if job.status != "done" or not job.result_file:
        return None
    path = files_dir() / job.result_file
    return path if path.is_file() else None


def status_view(job: Job) -> dict:
    """The job as JSON for polling (the page and /api/v1/jobs/<id>)."""
    total = job.progress_total
    percent = None
    if job.status == "done":
        percent = 100
    elif total:
        percent = min(100, round(100 * job.progress_done / total))
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": {
            "done": job.progress_done,
            "total": total,
            "percent": percent,
            "message": job.progress_message,
        },
        "result": job.result,
        "error": job.error,
        "has_file": bool(job.status == "done" and job.result_file),
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


jobs_queue.set_operations(run, recover, purge)
