"""The hand-off from an attempt to grading: finished by the engine, or closed at its deadline.

Both the answer (services/answering) and resuming (services/attempt_lifecycle) close attempts here;
the caller commits.
"""

from __future__ import annotations

from datetime import datetime

from competency.extensions import db
from competency.models import ACTIVE_STATUSES, Attempt, utcnow
from competency.services import audit
from competency.services.errors import Conflict
from competency.services.results import grade_attempt


class AttemptClosed(Conflict):
    """The attempt can take no more answers (finished, graded or past its deadline)."""


def past_deadline(deadline_at: datetime | None, now: datetime) -> bool:
    return deadline_at is not None and now >= deadline_at


def finish(attempt: Attempt, status: str, now: datetime) -> None:
    """End the attempt with `status` and grade it (it ends "graded", or "insufficient" with too few answers)."""
    attempt.status = status
    attempt.finished_at = now
    # The attempt's changes are written once, with the certificate, not at each read grading makes.
    with db.session.no_autoflush:
        grade_attempt(attempt)


def close_if_expired(attempt: Attempt, now: datetime | None = None) -> bool:
    """Close an active attempt whose deadline passed: timed out, graded on what was answered."""
    now = now or utcnow()
    if attempt.status in ACTIVE_STATUSES and past_deadline(attempt.deadline_at, now):
        attempt.stop_reason = "time_limit"
        finish(attempt, "timed_out", now)  # counts the unanswered pending item as seen, then clears it
        attempt.pending_item = None
        audit.record("attempt.timeout", "attempt", attempt.id, detail={"answered": attempt.position - 1})
        return True
    return False
