"""Attempts: a server-side state machine (started → in_progress → finished | timed_out → graded).

Each answer is one transaction: lock the attempt row, refuse a stale or repeated position, store the
response, update the estimate, choose the next item or stop, store the new state. Nothing is kept in
process memory between requests, so any worker can serve the next request.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from competency.extensions import db
from competency.irt.cat import CatState, Engine
from competency.irt.cat.errors import CatError
from competency.models import ACTIVE_STATUSES, Assessment, Attempt, Response, User, utcnow
from competency.services import assessments as assessment_service
from competency.services import audit
from competency.services.errors import Conflict, NotFound, ServiceError
from competency.services.results import grade_attempt
from competency.tests_bank.delivery import delivery_payload
from competency.tests_bank.scoring import AnswerError, score_answer, validate_answer


class AttemptClosed(Conflict):
    """The attempt can take no more answers (finished, graded or past its deadline)."""


def _engine(assessment: Assessment, attempt: Attempt | None = None) -> Engine:
    config = attempt.engine if attempt is not None else assessment.engine
    return assessment_service.engine_for(assessment, config)


def _deadline(assessment: Assessment, user: User, start) -> Any:
    if not assessment.time_limit_minutes:
        return None
    minutes = assessment.time_limit_minutes * (1 + (user.extra_time_percent or 0) / 100)
    return start + timedelta(minutes=minutes)


EXPOSURE_RATES_TTL_SECONDS = 30
_EXPOSURE_RATES: dict[tuple, tuple[float, dict[str, float]]] = {}


def _exposure_rates(assessment: Assessment, engine: Engine) -> dict[str, float] | None:
    """Share of this assessment's attempts that saw each item (only the maximum-rate rule needs it).

    Counting means reading every response of the assessment, which grows with its use, so a worker
    reuses its last count for EXPOSURE_RATES_TTL_SECONDS; a rate half a minute old controls exposure
    just as well, and nothing about any attempt is kept.
    """
    if engine.cfg.exposure != "max_rate":
        return None
    now = time.monotonic()
    key = (assessment.id, assessment.published_at)
    cached = _EXPOSURE_RATES.get(key)
    if cached is not None and now - cached[0] < EXPOSURE_RATES_TTL_SECONDS:
        return cached[1]
    started = db.session.scalar(
        select(func.count()).select_from(Attempt).where(Attempt.assessment_id == assessment.id)
    )
    rows = db.session.execute(
        select(Response.item_code, func.count())
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Attempt.assessment_id == assessment.id)
        .group_by(Response.item_code)
    )
    rates = {code: count / max(1, started) for code, count in rows}
    if len(_EXPOSURE_RATES) >= 64:
        _EXPOSURE_RATES.clear()
    _EXPOSURE_RATES[key] = (now, rates)
    return rates


def _advance(attempt: Attempt, engine: Engine, state: CatState, now) -> None:
    """Ask the engine for the next item, or close the attempt when it stops."""
    elapsed = (now - attempt.started_at).total_seconds()
    item_id = engine.next_item(
        state, elapsed_seconds=elapsed, exposure_rates=_exposure_rates(attempt.assessment, engine)
    )
    attempt.state = state.to_dict()
    if item_id is None:
        attempt.pending_item = None
        attempt.stop_reason = state.stop_reason
        _finish(attempt, "finished", now)
        return
    attempt.pending_item = item_id


def _store_answer(attempt: Attempt, response: dict, state: CatState, next_id: str) -> None:
    """The common step as two Core statements: store the response, move the attempt on.

    The UPDATE names the position it read, like the ORM's version check, so a concurrent answer that
    got there first leaves it matching no row. Skipping the ORM's unit of work here halves the cost
    of an answer; the in-memory attempt is then brought in line without marking it changed.
    """
    position = response["position"]
    state_dict = state.to_dict()
    connection = db.session.connection()
    connection.execute(insert(Response.__table__).values(**response))
    table = Attempt.__table__
    moved = connection.execute(
        update(table)
        .where(table.c.id == attempt.id, table.c.position == position)
        .values(position=position + 1, status="in_progress", state=state_dict, pending_item=next_id)
    )
    if moved.rowcount != 1:
        raise StaleDataError("attempt moved on")
    for key, value in (
        ("position", position + 1),
        ("status", "in_progress"),
        ("state", state_dict),
        ("pending_item", next_id),
    ):
        set_committed_value(attempt, key, value)


def _finish(attempt: Attempt, status: str, now) -> None:
    attempt.status = status
    attempt.finished_at = now
    grade_attempt(attempt)
    attempt.status = "graded"


def _past_deadline(attempt: Attempt, now) -> bool:
    return attempt.deadline_at is not None and now >= attempt.deadline_at


def close_if_expired(attempt: Attempt, now=None) -> bool:
    """Close an active attempt whose deadline passed: timed out, graded on what was answered."""
    now = now or utcnow()
    if attempt.status in ACTIVE_STATUSES and _past_deadline(attempt, now):
        attempt.stop_reason = "time_limit"
        _finish(attempt, "timed_out", now)  # counts the unanswered pending item as seen, then clears it
        attempt.pending_item = None
        audit.record("attempt.timeout", "attempt", attempt.id, detail={"answered": attempt.position - 1})
        return True
    return False


def active_attempt(user: User, assessment: Assessment) -> Attempt | None:
    return db.session.scalar(
        select(Attempt).where(
            Attempt.user_id == user.id,
            Attempt.assessment_id == assessment.id,
            Attempt.status.in_(ACTIVE_STATUSES),
        )
    )


def _check_policy(user: User, assessment: Assessment, now) -> None:
    done, last_finished = db.session.execute(
        select(func.count(), func.max(Attempt.finished_at)).where(
            Attempt.user_id == user.id,
            Attempt.assessment_id == assessment.id,
            Attempt.status.not_in(ACTIVE_STATUSES),
        )
    ).one()
    if done >= assessment.max_attempts:
        raise ServiceError(
            "attempts_exhausted",
            _("you have used all %(n)d attempts of this assessment", n=assessment.max_attempts),
            "assessment_id",
            status=403,
        )
    if done and assessment.wait_hours and last_finished is not None:
        if last_finished.tzinfo is None:  # SQLite returns aggregates without the column's type
            last_finished = datetime.fromisoformat(str(last_finished)).replace(tzinfo=UTC)
        ready = last_finished + timedelta(hours=assessment.wait_hours)
        if now < ready:
            raise ServiceError(
                "too_soon",
                _("you can try again after %(when)s (UTC)", when=ready.strftime("%Y-%m-%d %H:%M")),
                "assessment_id",
                status=403,
            )


def get_assessment_for(user: User, assessment_id: Any) -> Assessment:
    if not isinstance(assessment_id, int) or isinstance(assessment_id, bool):
        raise ServiceError("invalid_field", _("assessment_id must be a number"), "assessment_id")
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or not assessment_service.is_open_to(assessment, user):
        raise NotFound("assessment_not_found", _("no open assessment with this id"), "assessment_id")
    return assessment


def start_or_resume(user: User, assessment_id: Any) -> tuple[Attempt, bool]:
    """The caller's active attempt, or a new one when the policy allows; True when it is new."""
    assessment = get_assessment_for(user, assessment_id)
    now = utcnow()
    current = active_attempt(user, assessment)
    if current is not None:
        if not close_if_expired(current, now):
            return current, False
        db.session.commit()
    _check_policy(user, assessment, now)
    engine = _engine(assessment)
    state = engine.start(seed=secrets.randbits(52))
    attempt = Attempt(
        assessment=assessment,
        user_id=user.id,
        status="started",
        started_at=now,
        deadline_at=_deadline(assessment, user, now),
        position=1,
        state=state.to_dict(),
        engine=engine.cfg.to_dict(),
        param_versions={entry["code"]: entry["version"] for entry in assessment.pool},
        graph_version=assessment.graph_version,
    )
    db.session.add(attempt)
    try:
        db.session.flush()  # the partial unique index refuses a second active attempt here
    except IntegrityError:
        db.session.rollback()
        existing = active_attempt(user, assessment)
        if existing is None:
            raise
        return existing, False
    _advance(attempt, engine, state, now)
    audit.record("attempt.start", "attempt", attempt.id, actor=user)
    db.session.commit()
    return attempt, True


def get_own_attempt(user: User, attempt_id: int, lock: bool = False) -> Attempt:
    """The caller's attempt; someone else's is reported as missing.

    With `lock`, the row is locked for the rest of the transaction (SELECT … FOR UPDATE on PostgreSQL),
    so concurrent answers to one attempt are handled one after the other. SQLite has no row locks;
    there the attempt's position doubles as a version number (see the model), so of two racing
    answers the second one's UPDATE matches no row and is refused.
    """
    stmt = (
        select(Attempt)
        .options(joinedload(Attempt.assessment, innerjoin=True))
        .where(Attempt.id == attempt_id)
    )
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
    entry = assessment_service.pool_items(attempt.assessment)[attempt.pending_item]
    return delivery_payload(entry.item, attempt.position, entry.dimension or "")


def submit_answer(user: User, attempt_id: int, position: Any, item_id: Any, answer: Any) -> Attempt:
    """Store one answer at `position` and move on; a stale or repeated position is a 409."""
    if not isinstance(position, int) or isinstance(position, bool) or position < 1:
        raise ServiceError("invalid_field", _("position must be a positive whole number"), "position")
    if not isinstance(item_id, str) or not item_id:
        raise ServiceError("missing_field", _("item_id is required"), "item_id")
    attempt = get_own_attempt(user, attempt_id, lock=True)
    now = utcnow()
    if close_if_expired(attempt, now):
        db.session.commit()
        raise AttemptClosed(
            "attempt_timed_out", _("the time limit has passed; the attempt was closed and graded")
        )
    if attempt.status not in ACTIVE_STATUSES:
        raise AttemptClosed("attempt_closed", _("this attempt is already finished"))
    if position != attempt.position:
        raise Conflict(
            "stale_position",
            _("position %(got)d is not the pending position %(want)d", got=position, want=attempt.position),
            "position",
        )
    if item_id != attempt.pending_item:
        raise Conflict("wrong_item", _("item %(item)s is not the pending item", item=item_id), "item_id")
    entry = assessment_service.pool_items(attempt.assessment)[item_id]
    item = entry.item
    try:
        validate_answer(item, answer)
        score = score_answer(item, answer)
    except AnswerError as exc:
        raise ServiceError("invalid_answer", str(exc), exc.field) from exc
    engine = _engine(attempt.assessment, attempt)
    elapsed = (now - attempt.started_at).total_seconds()
    try:
        state, next_id = engine.record_and_next(
            CatState.from_dict(attempt.state),
            item_id,
            score,
            elapsed_seconds=elapsed,
            exposure_rates=_exposure_rates(attempt.assessment, engine),
        )
    except CatError as exc:
        raise ServiceError("invalid_answer", str(exc), "answer") from exc
    response = {
        "attempt_id": attempt.id,
        "position": position,
        "item_code": item_id,
        "param_version": entry.version,
        "answer": {"value": answer},
        "score": score,
        "pilot": entry.pilot,
        "answered_at": now,
    }
    try:
        if next_id is None:
            # The test stops: grade through the ORM (once per attempt).
            db.session.add(Response(**response))
            attempt.position = position + 1
            attempt.state = state.to_dict()
            attempt.pending_item = None
            attempt.stop_reason = state.stop_reason
            _finish(attempt, "finished", now)
        else:
            _store_answer(attempt, response, state, next_id)
        db.session.commit()
    except (IntegrityError, StaleDataError) as exc:
        # A concurrent request stored this position first (SQLite has no row lock): exactly one wins.
        db.session.rollback()
        raise Conflict("stale_position", _("this position was already answered"), "position") from exc
    return attempt


def history(user: User, assessment: Assessment | None = None) -> list[Attempt]:
    stmt = select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.started_at)
    if assessment is not None:
        stmt = stmt.where(Attempt.assessment_id == assessment.id)
    return list(db.session.scalars(stmt))


def remaining_seconds(attempt: Attempt, now=None) -> int | None:
    if attempt.deadline_at is None:
        return None
    return max(0, int((attempt.deadline_at - (now or utcnow())).total_seconds()))
