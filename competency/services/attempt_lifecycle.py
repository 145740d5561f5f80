"""An attempt's life outside answering: start or resume, the attempts policy, resuming, reading.

Attempts are a server-side state machine (started → in_progress → finished | timed_out → graded |
insufficient). Answering lives in services/answering, closing and the hand-off to grading in
services/attempt_closing. Nothing is kept in process memory between requests.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from competency.extensions import db
from competency.irt.cat import Engine
from competency.localtime import offset_label, to_local
from competency.models import ACTIVE_STATUSES, Assessment, Attempt, User, utcnow
from competency.services import audience, audit, exposure, pools
from competency.services.attempt_closing import close_if_expired, finish
from competency.services.errors import NotFound, ServiceError


def _deadline(assessment: Assessment, user: User, start: datetime) -> datetime | None:
    if not assessment.time_limit_minutes:
        return None
    minutes = assessment.time_limit_minutes * (1 + (user.extra_time_percent or 0) / 100)
    return start + timedelta(minutes=minutes)


def _exposure_rates(assessment: Assessment, engine: Engine) -> dict[str, float] | None:
    """Share of the assessment's attempts that saw each item; only the maximum-rate rule needs it."""
    if engine.cfg.exposure != "max_rate":
        return None
    key = pools.published_key(assessment.id, assessment.published_at)
    return exposure.current_rates(db.session.connection(), assessment.id, key)


def active_attempt(user: User, assessment: Assessment) -> Attempt | None:
    return db.session.scalar(
        select(Attempt).where(
            Attempt.user_id == user.id,
            Attempt.assessment_id == assessment.id,
            Attempt.status.in_(ACTIVE_STATUSES),
        )
    )


# A person's attempts at one assessment are few; one small read serves both the resume check and
# the attempts policy.
_ATTEMPTS_SO_FAR = select(Attempt.id, Attempt.status, Attempt.finished_at).where(
    Attempt.user_id == bindparam("user_id"), Attempt.assessment_id == bindparam("assessment_id")
)


def _check_policy(assessment: Assessment, finished: list, now, zone_name: str | None = None) -> None:
    """Refuse a new attempt beyond the maximum or before the waiting time; `finished`: end times;
    the waiting time's end is told in `zone_name` (the person's zone)."""
    done = len(finished)
    if done >= assessment.max_attempts:
        raise ServiceError(
            "attempts_exhausted",
            _("you have used all %(n)d attempts of this assessment", n=assessment.max_attempts),
            "assessment_id",
            status=403,
        )
    last_finished = max((when for when in finished if when is not None), default=None)
    if done and assessment.wait_hours and last_finished is not None:
        ready = last_finished + timedelta(hours=assessment.wait_hours)
        if now < ready:
            raise ServiceError(
                "too_soon",
                _(
                    "you can try again after %(when)s (%(zone)s)",
                    when=to_local(ready, zone_name).strftime("%Y-%m-%d %H:%M"),
                    zone=offset_label(zone_name, ready),
                ),
                "assessment_id",
                status=403,
            )


def get_assessment_for(user: User, assessment_id: Any) -> Assessment:
    if not isinstance(assessment_id, int) or isinstance(assessment_id, bool):
        raise ServiceError("invalid_field", _("assessment_id must be a number"), "assessment_id")
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or not audience.is_open_to(assessment, user):
        raise NotFound("assessment_not_found", _("no open assessment with this id"), "assessment_id")
    return assessment


def start_or_resume(user: User, assessment_id: Any) -> tuple[Attempt, bool]:
    """The caller's active attempt, or a new one when the policy allows; True when it is new."""
    assessment = get_assessment_for(user, assessment_id)
    now = utcnow()
    earlier = db.session.execute(_ATTEMPTS_SO_FAR, {"user_id": user.id, "assessment_id": assessment.id}).all()
    # An attempt closed with too little evidence gave no level: it does not use up an attempt.
    finished = [
        row.finished_at
        for row in earlier
        if row.status not in ACTIVE_STATUSES and row.status != "insufficient"
    ]
    active = next((row.id for row in earlier if row.status in ACTIVE_STATUSES), None)
    if active is not None:
        current = db.session.get_one(Attempt, active)
        if not close_if_expired(current, now):
            return current, False
        db.session.commit()
        if current.status != "insufficient":
            finished.append(current.finished_at)
    _check_policy(assessment, finished, now)
    engine = pools.engine_for(assessment, assessment.engine)
    state = engine.start(seed=secrets.randbits(52))
    attempt = Attempt(
        assessment=assessment,
        user_id=user.id,
        status="started",
        started_at=now,
        deadline_at=_deadline(assessment, user, now),
        position=1,
        engine=engine.cfg.to_dict(),
        param_versions={
            code: entry.version for code, entry in pools.pool_items(assessment).items()
        },
        graph_version=assessment.graph_version,
    )
    # The first item is chosen before the row is written, so the attempt is stored in one INSERT.
    first = engine.next_item(state, elapsed_seconds=0.0, exposure_rates=_exposure_rates(assessment, engine))
    attempt.state = state.to_dict()
    attempt.pending_item = first
    db.session.add(attempt)
    try:
        db.session.flush()  # the partial unique index refuses a second active attempt here
    except IntegrityError:
        db.session.rollback()
        existing = active_attempt(user, assessment)
        if existing is None:
            raise
        return existing, False
    if first is None:  # nothing the pool can give: closed and graded at once
        attempt.stop_reason = state.stop_reason
        finish(attempt, "finished", now)
    audit.record("attempt.start", "attempt", attempt.id, actor=user)
    db.session.commit()
    return attempt, True


# The attempt with its assessment, in one query: the assessment's publication time finds the frozen
# pool (the pending item) and grading reads the assessment when a deadline has passed.
_OWN_ATTEMPT = select(Attempt).options(joinedload(Attempt.assessment, innerjoin=True))


def get_own_attempt(user: User, attempt_id: int, lock: bool = False) -> Attempt:
    """The caller's attempt, with its assessment; someone else's is reported as missing.

    With `lock`, the attempt's row is locked for the rest of the transaction (SELECT … FOR UPDATE OF
    attempt on PostgreSQL). SQLite has no row locks; there every change of an attempt names the
    position it read (the model's version column), so a concurrent writer changes nothing.
    """
    stmt = _OWN_ATTEMPT.where(Attempt.id == attempt_id)
    if lock:
        stmt = stmt.with_for_update(of=Attempt)
    attempt = db.session.scalar(stmt)
    if attempt is None or attempt.user_id != user.id:
        raise NotFound("attempt_not_found", _("attempt not found"))
    return attempt


def refresh(user: User, attempt_id: int) -> Attempt:
    """The attempt for resuming; closes it first when its deadline has passed."""
    attempt = get_own_attempt(user, attempt_id, lock=True)
    if close_if_expired(attempt):
        db.session.commit()
    return attempt


def pending_payload(attempt: Attempt) -> dict | None:
    """The pending item as it may be shown: no key, no scores, no explanation, no parameters."""
    if attempt.status not in ACTIVE_STATUSES or attempt.pending_item is None:
        return None
    pool = pools.pool_items(attempt.assessment)
    return {**pool[attempt.pending_item].payload, "position": attempt.position}


def history(user: User, assessment: Assessment | None = None) -> list[Attempt]:
    stmt = select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.started_at)
    if assessment is not None:
        stmt = stmt.where(Attempt.assessment_id == assessment.id)
    return list(db.session.scalars(stmt))


def remaining_seconds(attempt: Attempt, now: datetime | None = None) -> int | None:
    if attempt.deadline_at is None:
        return None
    return max(0, int((attempt.deadline_at - (now or utcnow())).total_seconds()))
