"""The entry point for a production WSGI server: ``gunicorn -w 4 'competency.wsgi:app'``.

Besides building the app, it fills this worker's caches of the published assessments (their frozen
item pools with delivery payloads, and the CAT engines) before the first request, so no taker waits
while a worker builds them. A database that cannot be read yet (before `flask init-db`) only means
the caches fill on first use, as under `flask run`.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from competency.app import create_app, freeze_long_lived
from competency.extensions import db
from competency.services.pools import warm_published

log = logging.getLogger(__name__)

app = create_app()
with app.app_context():
    try:
        warmed = warm_published()
    except SQLAlchemyError as exc:
        log.warning("caches not warmed (%s); they fill on first use", exc.__class__.__name__)
    else:
        log.info("caches warmed for %d published assessments", warmed)
    finally:
        db.session.remove()
freeze_long_lived(app)  # the warmed caches live as long as the process, too
