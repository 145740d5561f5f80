"""The huey instance for huey's own consumer: ``huey_consumer competency.jobs_worker.huey -w 4``.

Same as `flask --app competency jobs worker`, for deployments that run huey's consumer directly
(process workers with `-k process`, its logging options). Configuration comes from the environment
(DATABASE_URL, SECRET_KEY, JOBS_BACKEND=redis, JOBS_REDIS_URL, JOBS_FILES_DIR).
"""

from __future__ import annotations

from competency.app import create_app
from competency.services.jobs_queue import init_queue

app = create_app()
huey = init_queue(app)
