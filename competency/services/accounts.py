"""Accounts: creating people, checking passwords with a rate limit, and bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from competency.extensions import db
from competency.models import (
    PLATFORM_WIDE_ROLES,
    ApiToken,
    CareerStage,
    Institution,
    LoginAttempt,
    Role,
    TeacherCategory,
    User,
    utcnow,
)
from competency.services import audit
from competency.services.errors import ServiceError

# Compared against when the user name is unknown, so both failures cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="pbkdf2:sha256:1000")


def _hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


def validate_password(password: str) -> None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise ServiceError(
            "password_too_short",
            _("password must have at least %(minimum)s characters", minimum=minimum),
            "password",
        )


def find_institution(name: str) -> Institution:
    inst = db.session.scalar(select(Institution).where(Institution.name == name))
    if inst is None:
        raise ServiceError(
            "unknown_institution", _("unknown institution: %(name)s", name=name), "institution"
        )
    return inst


def create_user(
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    institution: Institution | None = None,
    actor: User | None = None,
    commit: bool = True,
    **profile: object,
) -> User:
    """Create a person after checking every field; nothing is written when one is wrong."""
    username = (username or "").strip()
    if not username or len(username) > 80:
        raise ServiceError("invalid_username", _("user name must be 1–80 characters"), "username")
    if role not in {r.value for r in Role}:
        raise ServiceError(
            "unknown_role",
            _("unknown role %(role)s; one of: %(roles)s", role=role, roles=", ".join(r.value for r in Role)),
            "role",
        )
    validate_password(password)
    if role not in PLATFORM_WIDE_ROLES and institution is None:
        raise ServiceError(
            "institution_required", _("a %(role)s must belong to an institution", role=role), "institution"
        )
    category = profile.get("teacher_category")
    if category is not None and category not in {c.value for c in TeacherCategory}:
        raise ServiceError(
            "unknown_category",
            _("unknown teacher category %(category)s", category=category),
            "teacher_category",
        )
    stage = profile.get("career_stage")
    if stage is not None and stage not in {s.value for s in CareerStage}:
        raise ServiceError("unknown_stage", _("unknown career stage %(stage)s", stage=stage), "career_stage")
    if db.session.scalar(select(func.count()).select_from(User).where(User.username == username)):
        raise ServiceError(
            "duplicate_username", _("user name %(username)s is taken", username=username), "username"
        )
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=generate_password_hash(password, method=_hash_method()),
        role=role,
        institution=institution,
        **profile,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, actor=actor, detail={"role": role})
    if commit:
        db.session.commit()
    return user


def set_password(user: User, password: str, actor: User | None = None) -> None:
    validate_password(password)
    user.password_hash = generate_password_hash(password, method=_hash_method())
    audit.record("user.password", "user", user.id, actor=actor)
    db.session.commit()


class RateLimited(ServiceError):
    status = 429


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    rate_limited: bool = False


def _recent_failures(username: str, ip: str, since: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.success.is_(False), LoginAttempt.at >= since)
        .where((LoginAttempt.username == username) | (LoginAttempt.ip == ip))
    )
    return db.session.scalar(stmt) or 0


def authenticate(username: str, password: str, ip: str) -> LoginOutcome:
    """Check a user name and password; too many recent failures for the name or the address lock it out."""
    username = (username or "").strip()[:80]
    window = timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if _recent_failures(username, ip, utcnow() - window) >= limit:
        return LoginOutcome(None, rate_limited=True)
    user = db.session.scalar(select(User).where(User.username == username))
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    ok = ok and user is not None and user.active
    db.session.add(LoginAttempt(username=username, ip=ip, success=bool(ok)))
    if ok:
        audit.record("auth.login", "user", user.id, actor=user, ip=ip)
    db.session.commit()
    return LoginOutcome(user if ok else None)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, datetime]:
    """Create a bearer token; the plain value is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=current_app.config["API_TOKEN_TTL_HOURS"])
    db.session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), expires_at=expires))
    audit.record("token.issue", "user", user.id, actor=user)
    db.session.commit()
    return token, expires


# Built once: every API request runs it, and building a statement costs more than running it here.
_USER_BY_TOKEN = (
    select(User, ApiToken.expires_at, ApiToken.revoked_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"))
)


def user_for_token(token: str) -> User | None:
    """The active user a valid, unexpired, unrevoked token belongs to."""
    if not token:
        return None
    row = db.session.execute(_USER_BY_TOKEN, {"digest": token_digest(token)}).first()
    return None if row is None else valid_token_user(*row[:3])


def valid_token_user(user: User, expires_at: datetime, revoked_at: datetime | None) -> User | None:
    """The token's user when the token is unexpired and unrevoked and the account active."""
    return user if token_is_valid(expires_at, revoked_at, user.active) else None


def token_is_valid(expires_at: datetime, revoked_at: datetime | None, account_active: bool) -> bool:
    """A bearer token authenticates only while unexpired, unrevoked and its account active."""
    return revoked_at is None and expires_at > utcnow() and account_active


def revoke_token(token: str, actor: User | None = None) -> bool:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    audit.record("token.revoke", "api_token", row.id, actor=actor)
    db.session.commit()
    return True


def set_locale(user: User, locale: str) -> None:
    user.locale = locale
    db.session.commit()


def set_extra_time(user: User, percent: int, actor: User) -> None:
    """Accommodation: extra time on timed assessments, in percent of the limit (0–200)."""
    if not isinstance(percent, int) or not 0 <= percent <= 200:
        raise ServiceError("invalid_extra_time", _("extra time must be 0–200 percent"), "extra_time_percent")
    user.extra_time_percent = percent
    audit.record("user.extra_time", "user", user.id, actor=actor, detail={"percent": percent})
    db.session.commit()
