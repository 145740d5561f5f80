"""`jobs` commands: run a consumer of the background-job queue, recover orphaned jobs."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs (exports, calibration runs, ...)."""


@jobs_group.command("worker")
@click.option("--workers", "-w", default=2, show_default=True, help="Jobs run at the same time (threads).")
@with_appcontext
def jobs_worker(workers: int) -> None:
    """Consume the queue until stopped (what `make run` starts beside the dev server).

    On start it re-queues, once, the jobs a stopped worker left running (or fails them the second
    time); then every two minutes it does the same for jobs whose worker stopped sending heartbeats.
    """
    from competency.services.jobs_queue import backend_of, init_queue

    app = current_app._get_current_object()
    if backend_of(app) == "immediate":
        raise click.ClickException(
            "JOBS_BACKEND is 'immediate': jobs run inside the request, no worker needed"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s jobs %(levelname)s %(message)s")
    huey = init_queue(app)
    click.echo(f"jobs worker: {backend_of(app)} queue, {workers} thread(s)")
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True).run()


@jobs_group.command("recover")
@with_appcontext
def jobs_recover() -> None:
    """Re-queue or fail the jobs whose worker stopped (a consumer does this itself on start)."""
    from competency.services import jobs

    for job_id, status in jobs.recover():
        click.echo(f"job {job_id}: {status}")
