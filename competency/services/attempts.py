"""Attempts: a server-side state machine (started → in_progress → finished | timed_out → graded).

Each answer is one transaction: lock the attempt row, refuse a stale or repeated position, store the
response, update the estimate, choose the next item or stop, store the new state. Nothing is kept in
process memory between requests, so any worker can serve the next request.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Connection, Text, bindparam, cast, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from competency.extensions import db
from competency.irt.cat import CatState, Engine
from competency.irt.cat.errors import CatError
from competency.localtime import offset_label, to_local
from competency.models import ACTIVE_STATUSES, ApiToken, Assessment, Attempt, Response, User, utcnow
from competency.services import accounts, audit, exposure
from competency.services import assessments as assessment_service
from competency.services.errors import Conflict, NotFound, ServiceError
from competency.services.precompiled import Precompiled
from competency.services.results import grade_attempt
from competency.tests_bank.scoring import AnswerError, score_answer, validate_answer


class AttemptClosed(Conflict):
    """The attempt can take no more answers (finished, graded or past its deadline)."""


def _published(attempt: Any) -> tuple[int, Any, Assessment | None]:
    """The key of the attempt's frozen pool, and its assessment when already loaded (a new attempt).

    `attempt` is an Attempt or anything with its assessment_id and assessment_published_at (an
    AttemptToAnswer, an AnsweredAttempt).
    """
    if isinstance(attempt, Attempt):
        assessment = inspect(attempt).dict.get("assessment")
        if assessment is not None:
            return assessment.id, assessment.published_at, assessment
    return attempt.assessment_id, attempt.assessment_published_at, None


def _engine(attempt: Attempt) -> Engine:
    assessment_id, published_at, assessment = _published(attempt)
    return assessment_service.published_engine(assessment_id, published_at, attempt.engine, assessment)


def _pool(attempt: Attempt) -> dict[str, assessment_service.PoolItem]:
    return assessment_service.published_pool(*_published(attempt))


def _deadline(assessment: Assessment, user: User, start) -> Any:
    if not assessment.time_limit_minutes:
        return None
    minutes = assessment.time_limit_minutes * (1 + (user.extra_time_percent or 0) / 100)
    return start + timedelta(minutes=minutes)


EXPOSURE_RATES_TTL_SECONDS = 30
_EXPOSURE_RATES: dict[tuple, tuple[float, dict[str, float]]] = {}


def _exposure_rates(
    attempt: Attempt, engine: Engine, connection: Connection | None = None
) -> dict[str, float] | None:
    """Share of this assessment's attempts that saw each item (only the maximum-rate rule needs it).

    The shares come from running counters (services/exposure) that a refresh moves forward by what was
    stored since the last one, so the cost follows recent traffic, not the assessment's history. A
    worker refreshes at most every EXPOSURE_RATES_TTL_SECONDS; a rate half a minute old controls
    exposure just as well, and nothing about any attempt is kept.
    """
    if engine.cfg.exposure != "max_rate":
        return None
    now = time.monotonic()
    assessment_id, published_at, _loaded = _published(attempt)
    key = assessment_service.published_key(assessment_id, published_at)
    cached = _EXPOSURE_RATES.get(key)
    if cached is not None and now - cached[0] < EXPOSURE_RATES_TTL_SECONDS:
        return cached[1]
    # On the answer's own connection (one connection per answer): the worker that takes the tally
    # row counts, the others skip it and read the counters as they stand.
    reader = connection if connection is not None else db.session.connection()
    exposure.refresh(reader, assessment_id)
    rates = exposure.rates(reader, assessment_id)
    if len(_EXPOSURE_RATES) >= 64:
        _EXPOSURE_RATES.clear()
    _EXPOSURE_RATES[key] = (now, rates)
    return rates


_RESPONSES = Response.__table__
_ATTEMPTS = Attempt.__table__
_RESPONSE_FIELDS = ("position", "item_code", "param_version", "answer", "score", "pilot", "answered_at")
# Built and compiled once: building these statements cost more than running them.
_STORE_RESPONSE = Precompiled(
    insert(_RESPONSES).values(
        {name: bindparam(name, type_=_RESPONSES.c[name].type) for name in ("attempt_id", *_RESPONSE_FIELDS)}
    )
)
# Names the position it read, like the ORM's version check: an answer that lost a race matches no row.
_MOVE_ON_STATEMENT = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("b_attempt"), _ATTEMPTS.c.position == bindparam("b_position"))
    .values(
        position=bindparam("b_next"),
        status="in_progress",
        state=bindparam("b_state", type_=_ATTEMPTS.c.state.type),
        pending_item=bindparam("b_pending"),
    )
)
# PostgreSQL does both in one statement, one round trip: the response is inserted only if the move did.
_MOVED = _MOVE_ON_STATEMENT.returning(_ATTEMPTS.c.id).cte("moved")
_STORE_AND_MOVE_ON = Precompiled(
    insert(_RESPONSES)
    .from_select(
        ["attempt_id", *_RESPONSE_FIELDS],
        select(_MOVED.c.id, *(bindparam(name, type_=_RESPONSES.c[name].type) for name in _RESPONSE_FIELDS)),
    )
    .add_cte(_MOVED)
    .returning(_RESPONSES.c.id)  # the row tells whether it was stored (rowcount does not, here)
)
_MOVE_ON = Precompiled(_MOVE_ON_STATEMENT)


def _store_answer(
    connection: Connection, attempt: Any, response: dict, state: CatState, next_id: str | None
) -> None:
    """The common step without the ORM's unit of work: store the response, move the attempt on.

    Skipping the unit of work halves the cost of an answer; the in-memory attempt is then brought in
    line without marking it changed.
    """
    position = response["position"]
    state_dict = state.to_dict()
    move = {
        "b_attempt": attempt.id,
        "b_position": position,
        "b_next": position + 1,
        "b_state": state_dict,
        "b_pending": next_id,
    }
    if connection.dialect.name == "postgresql":
        moved = 0 if _STORE_AND_MOVE_ON.first(connection, {**response, **move}) is None else 1
    else:
        _STORE_RESPONSE.rowcount(connection, response)
        moved = _MOVE_ON.rowcount(connection, move)
    if moved != 1:
        raise StaleDataError("attempt moved on")
    if not isinstance(attempt, Attempt):
        return  # read for answering, not an ORM object: nothing in the session to bring in line
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
    # The attempt's changes are written once, with the certificate, not at each read grading makes.
    with db.session.no_autoflush:
        grade_attempt(attempt)  # ends "graded", or "insufficient" with too few answers


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
    if assessment is None or not assessment_service.is_open_to(assessment, user):
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
    engine = assessment_service.engine_for(assessment, assessment.engine)
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
            code: entry.version for code, entry in assessment_service.pool_items(assessment).items()
        },
        graph_version=assessment.graph_version,
    )
    # The first item is chosen before the row is written, so the attempt is stored in one INSERT.
    first = engine.next_item(state, elapsed_seconds=0.0, exposure_rates=_exposure_rates(attempt, engine))
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
        _finish(attempt, "finished", now)
    audit.record("attempt.start", "attempt", attempt.id, actor=user)
    db.session.commit()
    return attempt, True


# Answering reads neither the attempt's long record of parameter versions nor its (empty) result.
_NOT_READ_TO_ANSWER = ("param_versions", "result")
_ATTEMPT_BY_ID = select(Attempt).where(Attempt.id == bindparam("attempt_id"))
_ATTEMPT_TO_ANSWER = _ATTEMPT_BY_ID.options(*(defer(getattr(Attempt, name)) for name in _NOT_READ_TO_ANSWER))
# An answer that ends the attempt grades it, and grading reads the assessment: both in one query.
_ATTEMPT_TO_CLOSE = _ATTEMPT_BY_ID.options(joinedload(Attempt.assessment), defer(Attempt.param_versions))


def get_own_attempt(
    user: User, attempt_id: int, lock: bool = False, *, to_answer: bool = False, to_close: bool = False
) -> Attempt:
    """The caller's attempt; someone else's is reported as missing.

    With `lock`, the row is locked for the rest of the transaction (SELECT … FOR UPDATE on PostgreSQL),
    so concurrent answers to one attempt are handled one after the other. SQLite has no row locks;
    there the attempt's position doubles as a version number (see the model), so of two racing
    answers the second one's UPDATE matches no row and is refused. `to_answer` leaves out what
    answering never reads; `to_close` also brings the assessment, for grading.
    """
    stmt = _ATTEMPT_TO_CLOSE if to_close else _ATTEMPT_TO_ANSWER if to_answer else _ATTEMPT_BY_ID
    if lock:
        stmt = stmt.with_for_update(of=Attempt)
    attempt = db.session.scalar(stmt, {"attempt_id": attempt_id})
    if attempt is None or attempt.user_id != user.id:
        raise NotFound("attempt_not_found", _("attempt not found"))
    return attempt


@dataclass(frozen=True)
class Caller:
    """Who a bearer token belongs to, as read together with the attempt being answered."""

    id: int
    role: str
    locale: str | None


@dataclass(frozen=True)
class AnsweredAttempt:
    """An attempt after an answer, as the answering route reports it (no ORM object needed)."""

    id: int
    status: str
    position: int
    pending_item: str | None
    assessment_id: int
    assessment_published_at: Any


@dataclass(frozen=True, slots=True)
class AttemptToAnswer:
    """The attempt as answering reads it, locked: only the columns an answer needs, no ORM object."""

    id: int
    user_id: int
    assessment_id: int
    status: str
    started_at: datetime
    deadline_at: datetime | None
    position: int
    pending_item: str | None
    state: dict
    engine: str  # the settings' JSON text, unparsed: it only has to find the cached engine
    assessment_published_at: datetime | None


_USERS, _TOKENS = User.__table__, ApiToken.__table__
_CALLER_COLUMNS = (
    _USERS.c.role,
    _USERS.c.active,
    _USERS.c.locale,
    _TOKENS.c.expires_at,
    _TOKENS.c.revoked_at,
)
# Plain columns, not ORM entities, run as a Precompiled: the common answer needs no ORM object.
_CALLER_AND_ATTEMPT = Precompiled(
    select(
        *_CALLER_COLUMNS,
        # AttemptToAnswer's fields in order: its columns, then the two read differently
        *(_ATTEMPTS.c[field.name] for field in fields(AttemptToAnswer)[:-2]),
        cast(_ATTEMPTS.c.engine, Text),
        Attempt.assessment_published_at.expression,
    )
    .select_from(
        _USERS.join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id).join(
            _ATTEMPTS, _ATTEMPTS.c.user_id == _USERS.c.id
        )
    )
    .where(_TOKENS.c.token_hash == bindparam("digest"), _ATTEMPTS.c.id == bindparam("attempt_id"))
    .with_for_update(of=_ATTEMPTS)
)


@dataclass(frozen=True, slots=True)
class LockedForAnswer:
    """The attempt read and locked for answering, on a connection of its own outside the ORM session.

    An answer needs no ORM object unless it ends the attempt, and the Session's bookkeeping around one
    transaction (begin, commit, close) cost about as much as the SQL of the answer itself, so the
    common answer runs its transaction on a plain connection (`submit_answer` commits it).
    """

    connection: Connection
    attempt: AttemptToAnswer


def caller_and_attempt_to_answer(
    connection: Connection, token: str, attempt_id: int
) -> tuple[Caller | None, AttemptToAnswer | None] | None:
    """The bearer token's caller and, when it is theirs, the attempt locked for answering, in one query.

    Every answer makes both lookups; as one statement they cost one round trip instead of two. None
    when the attempt is unknown or someone else's (the token alone then decides who calls); (None, None)
    for a token that is not valid.
    """
    row = _CALLER_AND_ATTEMPT.first(
        connection, {"digest": accounts.token_digest(token), "attempt_id": attempt_id}
    )
    if row is None:
        return None
    role, active, locale, expires_at, revoked_at = row[: len(_CALLER_COLUMNS)]
    if not accounts.token_is_valid(expires_at, revoked_at, active):
        return None, None
    attempt = AttemptToAnswer(*row[len(_CALLER_COLUMNS) :])
    return Caller(attempt.user_id, role, locale), attempt


@contextmanager
def answering(token: str, attempt_id: int) -> Iterator[tuple[User | Caller | None, LockedForAnswer | None]]:
    """Who answers with this bearer token, and the attempt they answer, locked, for `submit_answer`.

    The attempt comes locked on its own connection in a transaction that `submit_answer` commits; at
    the end of the block, whatever was not committed is rolled back and the connection goes back to
    the pool. When the attempt is unknown or someone else's, the token's User comes without an attempt
    (submit_answer then answers 404 as always); a token that is not valid gives no one.
    """
    if not token:
        yield None, None
        return
    with db.engine.connect() as connection:
        connection.begin()
        found = caller_and_attempt_to_answer(connection, token, attempt_id)
        if found is None:  # an unknown attempt, or someone else's: the token alone says who calls
            _hand_over(connection)
            yield accounts.user_for_token(token), None
            return
        caller, attempt = found
        if attempt is None:  # a token that is not valid
            _hand_over(connection)
            yield None, None
            return
        yield caller, LockedForAnswer(connection, attempt)


def _hand_over(connection: Connection) -> None:
    """End a transaction that only read (and locked), and give the connection back to the pool,
    before the ORM session takes over.

    COMMIT, not ROLLBACK: both end it alike, but on every ROLLBACK psycopg deallocates all the
    statements it prepared on the connection, so the next answers there would be parsed and planned
    again by the server. Given back at once, so that an answer does not hold two connections (the
    engine's reads use the answer's own): with threaded workers that would outgrow the pool, whose
    overflow connections are opened and closed for each use.
    """
    connection.commit()
    connection.close()


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
    return {**_pool(attempt)[attempt.pending_item].payload, "position": attempt.position}


def _check_pending(attempt: Any, position: int, item_id: str) -> None:
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


def _next_step(
    connection: Connection, attempt: Any, position: int, item_id: str, answer: Any, now
) -> tuple[dict, CatState, str | None]:
    """Score the answer and run the engine: the response row, the new CAT state, the next item (None: stop).

    `connection` is the answer's, for the reads the engine may need (the exposure rates).
    """
    entry = _pool(attempt)[item_id]
    item = entry.item
    try:
        validate_answer(item, answer)
        score = score_answer(item, answer)
    except AnswerError as exc:
        raise ServiceError("invalid_answer", str(exc), exc.field) from exc
    engine = _engine(attempt)
    try:
        state, next_id = engine.record_and_next(
            CatState.from_dict(attempt.state),
            item_id,
            score,
            elapsed_seconds=(now - attempt.started_at).total_seconds(),
            exposure_rates=_exposure_rates(attempt, engine, connection),
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
    return response, state, next_id


def _lost_race() -> Conflict:
    # A concurrent request stored this position first (SQLite has no row lock): exactly one wins.
    return Conflict("stale_position", _("this position was already answered"), "position")


@dataclass(frozen=True, slots=True)
class _Step:
    """An answer scored and the engine run, not stored yet."""

    position: int
    now: datetime
    response: dict
    state: CatState
    next_id: str | None


def _answer_locked(
    locked: LockedForAnswer, position: int, item_id: str, answer: Any
) -> AnsweredAttempt | _Step | None:
    """The common answer, on the locked attempt's own connection, committed there.

    When the ORM must take over, the connection's transaction is ended (nothing was written) and
    the result says why: the _Step of an answer that ends the attempt (it is graded at once), or
    None when the deadline has passed (the attempt is closed).
    """
    attempt, connection = locked.attempt, locked.connection
    now = utcnow()
    if _past_deadline(attempt, now):
        _hand_over(connection)
        return None
    _check_pending(attempt, position, item_id)
    response, state, next_id = _next_step(connection, attempt, position, item_id, answer, now)
    if next_id is None:
        _hand_over(connection)
        return _Step(position, now, response, state, next_id)
    try:
        _store_answer(connection, attempt, response, state, next_id)
    except (IntegrityError, StaleDataError) as exc:
        connection.rollback()
        raise _lost_race() from exc
    connection.commit()
    return AnsweredAttempt(
        attempt.id,
        "in_progress",
        position + 1,
        next_id,
        attempt.assessment_id,
        attempt.assessment_published_at,
    )


def submit_answer(
    user: User | Caller,
    attempt_id: int,
    position: Any,
    item_id: Any,
    answer: Any,
    *,
    locked: LockedForAnswer | None = None,
) -> Attempt | AnsweredAttempt:
    """Store one answer at `position` and move on; a stale or repeated position is a 409.

    `locked` is the attempt when the caller already read it, locked, for answering (`answering`):
    then the common answer is stored and committed on its connection, without ORM objects, and an
    AnsweredAttempt comes back. An answer that ends the attempt, or comes after its deadline, is
    handled through the ORM session, in a transaction of its own, as when nothing was locked before.
    """
    if not isinstance(position, int) or isinstance(position, bool) or position < 1:
        raise ServiceError("invalid_field", _("position must be a positive whole number"), "position")
    if not isinstance(item_id, str) or not item_id:
        raise ServiceError("missing_field", _("item_id is required"), "item_id")
    step = None
    if locked is not None and locked.attempt.id == attempt_id and locked.attempt.user_id == user.id:
        step = _answer_locked(locked, position, item_id, answer)
        if isinstance(step, AnsweredAttempt):
            return step
    # Read again, locked, in the session's transaction: the attempt may have moved on meanwhile.
    attempt = get_own_attempt(user, attempt_id, lock=True, to_answer=True, to_close=locked is not None)
    now = utcnow() if step is None else step.now
    if close_if_expired(attempt, now):
        db.session.commit()
        raise AttemptClosed(
            "attempt_timed_out", _("the time limit has passed; the attempt was closed and graded")
        )
    _check_pending(attempt, position, item_id)
    if step is None:
        response, state, next_id = _next_step(
            db.session.connection(), attempt, position, item_id, answer, now
        )
    else:
        # Still pending at the same position, so the state is the one the step was computed from
        # (every stored answer moves the position on): the engine need not run again.
        response, state, next_id = step.response, step.state, step.next_id
    try:
        _store_answer(db.session.connection(), attempt, response, state, next_id)
        if next_id is None:  # the test stops: graded at once, in the same transaction
            attempt.stop_reason = state.stop_reason
            _finish(attempt, "finished", now)
        db.session.commit()
    except (IntegrityError, StaleDataError) as exc:
        db.session.rollback()
        raise _lost_race() from exc
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
