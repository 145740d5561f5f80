"""The queue under the jobs: huey, on SQLite for `make run`, on Redis in production, inline in tests.

Why huey: a small, well-kept library (one dependency-free package plus redis-py) whose SQLite storage
needs no server, so `make run` gets real background jobs without Redis, and whose Redis storage
serves several app hosts and consumers in production. The queue carries a job's id only; the job
row (services.jobs) holds everything else, so the broker can be swapped without touching handlers.

Settings (app config, or the environment of the same name):
    JOBS_BACKEND      "sqlite" (default outside tests), "redis", or "immediate" (default in tests:
                      a job runs inside enqueue(), before it returns)
    JOBS_SQLITE_PATH  the SQLite queue file (default: <instance>/jobs-queue.sqlite3)
    JOBS_REDIS_URL    e.g. redis://10.0.0.5:6379/0 (falls back to REDIS_URL)
    JOBS_FILES_DIR    where jobs write downloads (default <instance>/job-files; shared in production)
    JOBS_HANDLER_MODULES  more modules with @job_handler functions (comma-separated in the environment)

A consumer: `flask --app competency jobs worker` (what `make run` starts), or huey's own
`huey_consumer competency.jobs_worker.huey -w 4` in production.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from pathlib import Path

from flask import Flask, current_app
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab

log = logging.getLogger(__name__)

QUEUE_NAME = "competency"
BACKENDS = ("immediate", "sqlite", "redis")
# Modules whose @job_handler registrations every process (web and consumer) needs.
# competency.services.jobs first: it hands this module what the queue's tasks run (set_operations), so
# the queue never imports the jobs module back.
HANDLER_MODULES: tuple[str, ...] = (
    "competency.services.jobs",
    "competency.services.export_jobs",
    "competency.services.calibration_runs",
)
_OPERATIONS: dict[str, object] = {}


def set_operations(run, recover, purge) -> None:
    """The jobs module's run(job_id), recover() and purge(): what the queue's tasks and hooks call."""
    _OPERATIONS.update(run=run, recover=recover, purge=purge)
RECOVER_EVERY = crontab(minute="*/2")
PURGE_AT = crontab(minute="17", hour="3")  # daily: finished jobs older than JOBS_KEEP_DAYS go


def _setting(app: Flask, name: str, default: str | None = None) -> str | None:
    return app.config.get(name) or os.environ.get(name) or default


def backend_of(app: Flask) -> str:
    backend = _setting(app, "JOBS_BACKEND", "immediate" if app.config.get("TESTING") else "sqlite")
    if backend not in BACKENDS:
        raise ValueError(f"JOBS_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
    return backend


def _build(app: Flask):
    backend = backend_of(app)
    if backend == "immediate":
        return MemoryHuey(QUEUE_NAME, immediate=True, results=False)
    if backend == "redis":
        url = _setting(app, "JOBS_REDIS_URL") or _setting(app, "REDIS_URL", "redis://127.0.0.1:6379/0")
        return RedisHuey(QUEUE_NAME, url=url, results=False)
    path = Path(_setting(app, "JOBS_SQLITE_PATH") or Path(app.config["INSTANCE_DIR"]) / "jobs-queue.sqlite3")
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(path), results=False)


def init_queue(app: Flask):
    """The app's huey instance with the one task (run a job by id) and the consumer's hooks."""
    existing = app.extensions.get("jobs_huey")
    if existing is not None:
        return existing
    extra = app.config.get("JOBS_HANDLER_MODULES") or os.environ.get("JOBS_HANDLER_MODULES", "").split(",")
    for module in HANDLER_MODULES + tuple(m.strip() for m in extra if m.strip()):
        importlib.import_module(module)
    huey = _build(app)
    recovered_once = threading.Lock()
    state = {"recovered": False}

    @huey.task(name="competency.run_job")
    def run_job(job_id: int) -> None:
        with app.app_context():
            _OPERATIONS["run"](job_id)

    def recover() -> None:
        with app.app_context():
            _OPERATIONS["recover"]()

    @huey.on_startup(name="competency.recover_jobs")
    def recover_on_start() -> None:
        # Every worker thread runs the start-up hooks; the first one recovers, the others wait for it.
        with recovered_once:
            if not state["recovered"]:
                state["recovered"] = True
                recover()

    def purge() -> None:
        with app.app_context():
            _OPERATIONS["purge"]()

    huey.periodic_task(RECOVER_EVERY, name="competency.recover_jobs_periodically")(recover)
    huey.periodic_task(PURGE_AT, name="competency.purge_old_jobs")(purge)
    app.extensions["jobs_huey"] = huey
    app.extensions["jobs_task"] = run_job
    return huey


def queue(app: Flask | None = None):
    return init_queue(app or current_app._get_current_object())


def send(job_id: int) -> None:
    """Put a job's id on the queue (in immediate mode: run it now)."""
    app = current_app._get_current_object()
    init_queue(app)
    app.extensions["jobs_task"](job_id)
