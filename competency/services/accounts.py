"""Accounts: creating people, checking passwords with a rate limit, and bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from competency import graph
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
from competency.services import audit, password_policy, rate_limits
from competency.services.errors import ServiceError


def _hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


@cache
def _dummy_hash(method: str) -> str:
    """Checked when the user name is unknown, with the hasher real accounts use, so both cost the same."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def hash_password(password: str) -> str:
    return generate_password_hash(password_policy.normalise(password), method=_hash_method())


def password_matches(stored_hash: str, password: str) -> bool:
    """The NFKC form is what is hashed; a password set before normalisation is still accepted as typed."""
    normal = password_policy.normalise(password)
    if check_password_hash(stored_hash, normal):
        return True
    return normal != (password or "") and check_password_hash(stored_hash, password or "")


def password_context(
    username: str, display_name: str | None = None, institution: Institution | None = None
) -> tuple[str, ...]:
    """Words a person's password may not contain (password_policy): names of the person and the institution."""
    return tuple(w for w in (username, display_name, institution.name if institution else None) if w)


def validate_password(password: str, context: tuple[str, ...] = ()) -> None:
    password_policy.check(password, context)


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
    check_password: bool = True,
    **profile: object,
) -> User:
    """Create a person after checking every field; nothing is written when one is wrong."""
    username = unicodedata.normalize("NFKC", username or "").strip()
    if not username or len(username) > 80:
        raise ServiceError("invalid_username", _("user name must be 1–80 characters"), "username")
    if any(unicodedata.category(ch) in ("Cc", "Cf") or ch.isspace() for ch in username):
        raise ServiceError(
            "invalid_username", _("a user name may not contain spaces or control characters"), "username"
        )
    if display_name is not None and any(unicodedata.category(ch) == "Cc" for ch in display_name):
        raise ServiceError(
            "invalid_display_name", _("Text may not contain control characters."), "display_name"
        )
    if role not in {r.value for r in Role}:
        raise ServiceError(
            "unknown_role",
            _("unknown role %(role)s; one of: %(roles)s", role=role, roles=", ".join(r.value for r in Role)),
            "role",
        )
    if check_password:
        validate_password(password, password_context(username, display_name, institution))
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
        password_hash=hash_password(password),
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
    """Set a password chosen for the person (command line); ends their other sessions and tokens."""
    validate_password(password, password_context(user.username, user.display_name, user.institution))
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    end_sessions(user, actor, reason="password", commit=False)
    audit.record("user.password", "user", user.id, actor=actor)
    db.session.commit()


class RateLimited(ServiceError):
    status = 429


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    rate_limited: bool = False


def _login_keys(username: str, ip: str) -> tuple[str, str]:
    return f"login:{ip}|{username.casefold()}", f"login-ip:{ip}"


def authenticate(username: str, password: str, ip: str) -> LoginOutcome:
    """Check a user name and password, throttled per (name, address) and, higher, per address.

    Each attempt on a name is counted before its password is checked, in one statement
    (rate_limits.hit), and only attempts whose own count is within the limit are checked: however
    many arrive at once, no more than the limit are ever tried on one name. A success takes its
    count back. One person's mistakes lock only that name from that address.

    The per-address ceiling (a school behind one NAT) counts failed checks only, recorded after the
    check. Counting every attempt first and taking successes back would hold the logins in flight
    against the address: with many app hosts and workers, a class logging in at once (or the logins
    a crashed host never finished) would fill the ceiling and refuse correct passwords. Guesses
    spread over many names can pass the ceiling by at most the logins in flight at that moment.
    """
    username = unicodedata.normalize("NFKC", username or "").strip()[:80]
    window = current_app.config["LOGIN_WINDOW_SECONDS"]
    name_key, address_key = _login_keys(username, ip)
    per_name = rate_limits.hit(name_key, window)
    db.session.commit()  # visible to every worker before the (slow) password check
    if (
        per_name > current_app.config["LOGIN_MAX_FAILURES"]
        or rate_limits.current(address_key, window) >= current_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    ):
        return LoginOutcome(None, rate_limited=True)
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        password_matches(_dummy_hash(_hash_method()), password or "")  # the same work as a real check
        ok = False
    else:
        ok = password_matches(user.password_hash, password or "") and user.active
    db.session.add(LoginAttempt(username=username, ip=ip[:64], success=bool(ok)))
    if ok:
        rate_limits.reset(name_key)
        audit.record("auth.login", "user", user.id, actor=user, ip=ip)
    else:
        rate_limits.hit(address_key, window)
    db.session.commit()
    return LoginOutcome(user if ok else None)


# ---------------------------------------------------------------------------- sessions and self-service


def end_sessions(user: User, actor: User | None = None, reason: str = "sign_out", commit: bool = True) -> int:
    """End every session and API token of the person: raise the session version, revoke the tokens.

    Returns how many tokens were revoked. Sessions carry the version they began with
    (User.get_id), so each of them is refused on its next request, on any worker.
    """
    db.session.execute(
        update(User).where(User.id == user.id).values(session_version=User.session_version + 1)
    )
    revoked = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    db.session.expire(user, ["session_version"])
    audit.record(
        "user.sessions_end", "user", user.id, actor=actor, detail={"reason": reason, "tokens": revoked}
    )
    if commit:
        db.session.commit()
    return revoked


def change_password(user: User, current: str, new: str, repeat: str) -> None:
    """The person's own change: the current password is required; every other session ends."""
    if not password_matches(user.password_hash, current or ""):
        raise ServiceError("wrong_password", _("The current password is not correct."), "current_password")
    if new != repeat:
        raise ServiceError("passwords_differ", _("The two new passwords differ."), "repeat_password")
    if password_matches(user.password_hash, new or ""):
        raise ServiceError(
            "same_password", _("Choose a password different from the current one."), "new_password"
        )
    try:
        validate_password(new, password_context(user.username, user.display_name, user.institution))
    except ServiceError as exc:
        exc.field = "new_password"
        raise
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    end_sessions(user, actor=user, reason="password_change", commit=False)
    audit.record("user.password_change", "user", user.id, actor=user)
    db.session.commit()


def admin_reset_password(user: User, actor: User) -> str:
    """Give the person a one-time password (shown once to the admin) to be changed at the next login;
    every session and token of theirs ends."""
    temporary = "-".join(secrets.token_urlsafe(4) for _ in range(3))
    while password_policy.problem(
        temporary, password_context(user.username, user.display_name, user.institution)
    ):
        temporary = "-".join(secrets.token_urlsafe(4) for _ in range(3))  # pragma: no cover - rare
    user.password_hash = hash_password(temporary)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    end_sessions(user, actor=actor, reason="admin_reset", commit=False)
    audit.record("user.password_reset", "user", user.id, actor=actor)
    db.session.commit()
    return temporary


def set_active(user: User, active: bool, actor: User) -> None:
    """Deactivate (no login, every session and token ended) or reactivate; history and certificates stay."""
    if user.id == actor.id:
        raise ServiceError("own_account", _("You cannot deactivate your own account."), "active")
    if user.active == active:
        return
    user.active = active
    user.deactivated_at = None if active else utcnow()
    if not active:
        end_sessions(user, actor=actor, reason="deactivated", commit=False)
    audit.record("user.activate" if active else "user.deactivate", "user", user.id, actor=actor)
    db.session.commit()


def update_profile(user: User, display_name: str, locale: str | None, target_role: str | None) -> None:
    """The person's own profile: display name, language and (students) the target job role."""
    name = unicodedata.normalize("NFKC", display_name or "").strip()
    if not name or len(name) > 120 or any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise ServiceError(
            "invalid_display_name", _("The display name must be 1–120 visible characters."), "display_name"
        )
    if locale not in (None, "", *current_app.config["LANGUAGES"]):
        raise ServiceError("invalid_locale", _("Choose one of the offered languages."), "locale")
    if target_role:
        if user.role != "student":
            raise ServiceError("not_student", _("Only students choose a target job role."), "target_role")
        if target_role not in {p.code for p in graph.job_profiles()}:
            raise ServiceError(
                "unknown_role_profile", _("Choose one of the listed job roles."), "target_role"
            )
    user.display_name = name
    user.locale = locale or None
    if user.role == "student":
        user.target_role = target_role or None
    audit.record("user.profile", "user", user.id, actor=user)
    db.session.commit()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, datetime]:
    """Create a bearer token; the plain value is returned once and never stored."""
    if user.must_change_password:
        raise ServiceError(
            "password_change_required",
            _("Your password was reset; log in on the website and choose a new one first."),
            "password",
            status=403,
        )
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
