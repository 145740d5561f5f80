"""Answering one item: the one use case behind both answer routes, the JSON API's and the HTML page's.

An answer is one transaction on the request's own ORM session (`db.session`), on its one connection:

1. One joined read, locked: who calls (the bearer token's user, or the logged-in user), their role,
   whether the token is valid, and the attempt when it is theirs, with its assessment's publication
   time (with the assessment's id, the key of the process's cached pool and engine). Plain columns
   read by name, no ORM object; on PostgreSQL `FOR UPDATE OF attempt` holds concurrent answers to
   the attempt back until this one commits.
2. What was sent (`read(pending)`): the API's JSON body, or the HTML form decoded by the pending
   item's type.
3. The checks: past the deadline the attempt is closed and graded instead (409); closed, a stale or
   repeated position, not the pending item (409); an answer the item does not take (400).
4. The engine step: score the answer, re-estimate, the next item or stop.
5. The store: the response and the attempt moved on, as precompiled statements on the session's
   connection. The move names the position it read (SQLite has no row locks; there, of two racing
   answers exactly one UPDATE matches a row, the other is refused with 409).
6. COMMIT. An answer that ends the attempt loads the attempt as an ORM object in the same transaction
   and hands it to grading (services/attempt_closing) before the COMMIT.

Kept for PostgreSQL, here and nowhere else:

* The response and the move are one statement there (`_STORE_AND_MOVE_ON`, a CTE), one round trip
  instead of two; SQLite runs the two statements, which cost it no round trip. Measured: see
  "Answering in one room (issue 21)" in benchmarks/README_api.md.
* An answer that only read (refused, or unknown) ends its transaction with COMMIT, not ROLLBACK: on
  every ROLLBACK psycopg deallocates all the statements it prepared on the connection, so the next
  answers there are parsed and planned again (rolling back at each last answer had raised the
  PostgreSQL backends' CPU from 0.28 to 0.37 cores in alternating quick runs; README_api.md, session 5).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from babel import Locale
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Connection, Text, bindparam, cast, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, joinedload
from sqlalchemy.orm.exc import StaleDataError

from competency.extensions import db
from competency.irt.cat import CatState
from competency.irt.cat.errors import CatError
from competency.models import ACTIVE_STATUSES, ApiToken, Assessment, Attempt, Response, User, utcnow
from competency.services import accounts, exposure, pools
from competency.services.attempt_closing import AttemptClosed, close_if_expired, finish, past_deadline
from competency.services.errors import Conflict, Forbidden, NotFound, ServiceError
from competency.services.precompiled import Precompiled
from competency.tests_bank.scoring import AnswerError, score_answer, validate_answer


@dataclass(frozen=True, slots=True)
class Taker:
    """Who answers, and the roles that may: a bearer token (API) or the logged-in user's id (HTML)."""

    roles: tuple[str, ...]
    token: str | None = None
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    """What a request sent to answer, as it came: the position, the item id, the answer."""

    position: Any
    item_id: Any
    answer: Any


# Reads what was sent, given the pending item as shown; None when the attempt takes no answer
# (unknown, someone else's, closed, past its deadline). The HTML form needs the item's type.
Reader = Callable[[dict | None], Sent]


@dataclass(frozen=True, slots=True)
class Answered:
    """The attempt after the answer: the next item as shown, or none when it is finished."""

    status: str
    position: int
    item: dict | None

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE_STATUSES


@dataclass(frozen=True, slots=True)
class _Locked:
    """The attempt as answering reads it, locked, with who calls: only what an answer needs."""

    role: str
    active: bool
    locale: str | None
    id: int
    user_id: int
    assessment_id: int
    published_at: datetime | None  # the assessment's
    status: str
    started_at: datetime
    deadline_at: datetime | None
    position: int
    pending_item: str | None
    state: dict
    engine_text: str  # the settings' JSON text, unparsed: it only has to find the cached engine
    expires_at: datetime | None = None  # the token's (a bearer token only)
    revoked_at: datetime | None = None


_ATTEMPTS, _USERS, _TOKENS = Attempt.__table__, User.__table__, ApiToken.__table__
_ASSESSMENTS, _RESPONSES = Assessment.__table__, Response.__table__


def _locked_read(by_token: bool) -> Precompiled:
    """The one joined read of `_Locked`: by the token's digest, or by the logged-in user's id."""
    columns = [
        _USERS.c.role,
        _USERS.c.active,
        _USERS.c.locale,
        *(_ATTEMPTS.c[name] for name in ("id", "user_id", "assessment_id")),
        _ASSESSMENTS.c.published_at,
        *(_ATTEMPTS.c[name] for name in ("status", "started_at", "deadline_at", "position")),
        *(_ATTEMPTS.c[name] for name in ("pending_item", "state")),
        cast(_ATTEMPTS.c.engine, Text).label("engine_text"),
    ]
    source = _ATTEMPTS.join(_USERS, _USERS.c.id == _ATTEMPTS.c.user_id).join(
        _ASSESSMENTS, _ASSESSMENTS.c.id == _ATTEMPTS.c.assessment_id
    )
    if by_token:
        columns += [_TOKENS.c.expires_at, _TOKENS.c.revoked_at]
        source = source.join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
        caller = _TOKENS.c.token_hash == bindparam("digest")
    else:
        caller = _USERS.c.id == bindparam("user_id")
    statement = (
        select(*columns)
        .select_from(source)
        .where(caller, _ATTEMPTS.c.id == bindparam("attempt_id"))
        .with_for_update(of=_ATTEMPTS)
    )
    return Precompiled(statement)


_LOCKED_BY_TOKEN = _locked_read(by_token=True)
_LOCKED_BY_USER = _locked_read(by_token=False)

_RESPONSE_FIELDS = ("position", "item_code", "param_version", "answer", "score", "pilot", "answered_at")
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
_MOVE_ON = Precompiled(_MOVE_ON_STATEMENT)
# PostgreSQL: both in one statement, one round trip; the response is inserted only if the move was.
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
# An answer that ends the attempt grades it, and grading reads the assessment: both in one query.
# The row is this transaction's already (locked, or written by it), so it is read as it now stands.
_ATTEMPT_TO_CLOSE = (
    select(Attempt)
    .where(Attempt.id == bindparam("attempt_id"))
    .options(joinedload(Attempt.assessment, innerjoin=True), defer(Attempt.param_versions))
    .execution_options(populate_existing=True)
)


def answer(taker: Taker, attempt_id: int, read: Reader) -> Answered:
    """Store one answer at the position sent and move on: the next item, or the attempt finished.

    Refused, with nothing stored: 401 (no valid token), 403 (a role that does not answer), 400 (what
    was sent is malformed), 404 (an unknown attempt, or someone else's), 409 (the attempt is closed,
    or past its deadline and closed now; a stale or repeated position; not the pending item), 400 (an
    answer the item does not take). Messages are in the taker's language.
    """
    if taker.user_id is None and not taker.token:
        raise _unauthorized()
    connection = db.session.connection()
    if taker.token is not None:
        params = {"digest": accounts.token_digest(taker.token), "attempt_id": attempt_id}
        row = _LOCKED_BY_TOKEN.first_mapping(connection, params)
    else:
        row = _LOCKED_BY_USER.first_mapping(connection, {"user_id": taker.user_id, "attempt_id": attempt_id})
    if row is None:
        _refuse_without_attempt(taker, read)
    locked = _Locked(**row)
    if taker.token is not None and not accounts.token_is_valid(
        locked.expires_at, locked.revoked_at, locked.active
    ):
        _end_read_only()
        raise _unauthorized()
    with _language(taker, locked.locale):
        return _answer(connection, taker, locked, read)


def _answer(connection: Connection, taker: Taker, locked: _Locked, read: Reader) -> Answered:
    now = utcnow()
    late = locked.status in ACTIVE_STATUSES and past_deadline(locked.deadline_at, now)
    takes_answer = locked.status in ACTIVE_STATUSES and not late and locked.pending_item is not None
    try:
        if locked.role not in taker.roles:
            raise _forbidden()
        pool = (
            pools.published_pool(locked.assessment_id, locked.published_at)
            if takes_answer
            else {}
        )
        sent = _checked(read(pool[locked.pending_item].payload if takes_answer else None))
        if not late:
            _check_pending(locked, sent)
            response, state, next_id = _next_step(connection, locked, pool, sent, now)
    except ServiceError:
        _end_read_only()
        raise
    if late:
        _close_late(locked.id, now)
    following = sent.position + 1
    try:
        _store(connection, locked.id, response, state, next_id)
        if next_id is None:  # the test stops: graded at once, in the same transaction
            attempt = db.session.scalar(_ATTEMPT_TO_CLOSE, {"attempt_id": locked.id})
            attempt.stop_reason = state.stop_reason
            finish(attempt, "finished", now)
            answered = Answered(attempt.status, following, None)
        else:
            answered = Answered("in_progress", following, {**pool[next_id].payload, "position": following})
        db.session.commit()
    except (IntegrityError, StaleDataError) as exc:
        db.session.rollback()
        # A concurrent request stored this position first (SQLite has no row lock): exactly one wins.
        raise Conflict("stale_position", _("this position was already answered"), "position") from exc
    return answered


def _refuse_without_attempt(taker: Taker, read: Reader) -> NoReturn:
    """No row: the attempt is unknown or someone else's, or the token is not valid. Always raises."""
    user = None
    try:
        if taker.token is not None:
            user = accounts.user_for_token(taker.token)  # the token alone says who calls
            if user is None:
                raise _unauthorized()
        with _language(taker, None if user is None else user.locale):
            if user is not None and user.role not in taker.roles:
                raise _forbidden()
            _checked(read(None))  # malformed input is reported first, as for an attempt of one's own
            raise NotFound("attempt_not_found", _("attempt not found"))
    except ServiceError:
        _end_read_only()
        raise


def _end_read_only() -> None:
    """End a transaction that only read (and locked): COMMIT, for psycopg's sake (module docstring)."""
    db.session.commit()


_LOCALES: dict[str, Locale] = {}


def _language(taker: Taker, locale: str | None) -> AbstractContextManager:
    """Refusals in the language of a token's user (the logged-in user's is the request's already)."""
    if taker.token is None:
        return nullcontext()
    config = current_app.config
    chosen = locale if locale in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]
    parsed = _LOCALES.get(chosen)
    if parsed is None:
        parsed = _LOCALES[chosen] = Locale.parse(chosen)
    return force_locale(parsed)


def _unauthorized() -> ServiceError:
    return ServiceError("unauthorized", _("You need to log in to see this."), status=401)


def _forbidden() -> Forbidden:
    return Forbidden("forbidden", _("Your role does not allow this."))


def _checked(sent: Sent) -> Sent:
    if not isinstance(sent.position, int) or isinstance(sent.position, bool) or sent.position < 1:
        raise ServiceError("invalid_field", _("position must be a positive whole number"), "position")
    if not isinstance(sent.item_id, str) or not sent.item_id:
        raise ServiceError("missing_field", _("item_id is required"), "item_id")
    return sent


def _check_pending(locked: _Locked, sent: Sent) -> None:
    if locked.status not in ACTIVE_STATUSES:
        raise AttemptClosed("attempt_closed", _("this attempt is already finished"))
    if sent.position != locked.position:
        raise Conflict(
            "stale_position",
            _(
                "position %(got)d is not the pending position %(want)d",
                got=sent.position,
                want=locked.position,
            ),
            "position",
        )
    if sent.item_id != locked.pending_item:
        raise Conflict("wrong_item", _("item %(item)s is not the pending item", item=sent.item_id), "item_id")


def _close_late(attempt_id: int, now: datetime) -> NoReturn:
    """An answer after the deadline: the attempt is closed and graded on what was answered. Raises."""
    attempt = db.session.scalar(_ATTEMPT_TO_CLOSE, {"attempt_id": attempt_id})
    closed = close_if_expired(attempt, now)
    db.session.commit()
    if not closed:  # closed meanwhile by a concurrent request (SQLite has no row lock)
        raise AttemptClosed("attempt_closed", _("this attempt is already finished"))
    raise AttemptClosed(
        "attempt_timed_out", _("the time limit has passed; the attempt was closed and graded")
    )


def _next_step(
    connection: Connection, locked: _Locked, pool: dict, sent: Sent, now: datetime
) -> tuple[dict, CatState, str | None]:
    """Score the answer and run the engine: the response row, the new CAT state, the next item (None: stop)."""
    entry = pool[sent.item_id]
    try:
        validate_answer(entry.item, sent.answer)
        score = score_answer(entry.item, sent.answer)
    except AnswerError as exc:
        raise ServiceError("invalid_answer", str(exc), exc.field) from exc
    engine = pools.published_engine(
        locked.assessment_id, locked.published_at, locked.engine_text
    )
    rates = None
    if engine.cfg.exposure == "max_rate":  # only the maximum-rate rule needs the exposure rates
        key = pools.published_key(locked.assessment_id, locked.published_at)
        rates = exposure.current_rates(connection, locked.assessment_id, key)
    try:
        state, next_id = engine.record_and_next(
            CatState.from_dict(locked.state),
            sent.item_id,
            score,
            elapsed_seconds=(now - locked.started_at).total_seconds(),
            exposure_rates=rates,
        )
    except CatError as exc:
        raise ServiceError("invalid_answer", str(exc), "answer") from exc
    response = {
        "attempt_id": locked.id,
        "position": sent.position,
        "item_code": sent.item_id,
        "param_version": entry.version,
        "answer": {"value": sent.answer},
        "score": score,
        "pilot": entry.pilot,
        "answered_at": now,
    }
    return response, state, next_id


def _store(
    connection: Connection, attempt_id: int, response: dict, state: CatState, next_id: str | None
) -> None:
    """Store the response and move the attempt on, without the ORM's unit of work (half an answer's
    cost); StaleDataError when the attempt moved on meanwhile."""
    position = response["position"]
    move = {
        "b_attempt": attempt_id,
        "b_position": position,
        "b_next": position + 1,
        "b_state": state.to_dict(),
        "b_pending": next_id,
    }
    if connection.dialect.name == "postgresql":
        moved = 0 if _STORE_AND_MOVE_ON.first(connection, {**response, **move}) is None else 1
    else:
        _STORE_RESPONSE.rowcount(connection, response)
        moved = _MOVE_ON.rowcount(connection, move)
    if moved != 1:
        raise StaleDataError("attempt moved on")
