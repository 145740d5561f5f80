"""What-if, not the platform: answers on PostgreSQL without `SELECT … FOR UPDATE` and without BEGIN/COMMIT.

Measures what the design choice in DESIGN.md and issue 7 (the attempt row is locked while an answer
is processed) costs in throughput, for the decision recorded in benchmarks/README_api.md.

    .venv/bin/python benchmarks/bench_api.py --quick --backends postgres --app 'whatif_optimistic:create_app()'

The answer route's connection runs in autocommit mode and the attempt is read without a lock; the
one `WITH … UPDATE … WHERE position = ? … INSERT` statement stays atomic, so of two racing answers
still exactly one is stored. The last answer's grading is then not in one transaction with it, which
is why this is only an experiment.
"""

from __future__ import annotations

from competency import create_app as create_platform
from competency.extensions import db
from competency.services import attempts
from competency.services.precompiled import Precompiled


def create_app():
    app = create_platform()
    statement = attempts._CALLER_AND_ATTEMPT.statement._generate()
    statement._for_update_arg = None  # the same statement without FOR UPDATE
    unlocked = Precompiled(statement)
    original = attempts.caller_and_attempt_to_answer

    def caller_and_attempt_without_lock(token: str, attempt_id: int):
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        saved = attempts._CALLER_AND_ATTEMPT
        attempts._CALLER_AND_ATTEMPT = unlocked
        try:
            return original(token, attempt_id)
        finally:
            attempts._CALLER_AND_ATTEMPT = saved

    attempts.caller_and_attempt_to_answer = caller_and_attempt_without_lock
    return app
