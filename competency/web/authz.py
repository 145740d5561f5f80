"""Authorisation: every view declares who may call it, and a test checks that none forgot."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, g, request
from flask_login import current_user
from sqlalchemy import Select

from competency.models import Role, User

ALL_ROLES = tuple(r.value for r in Role)
STAFF = (Role.PLATFORM_ADMIN.value, Role.INSTITUTION_ADMIN.value, Role.TRAINER.value)


def public(view: Callable) -> Callable:
    """Mark a view as open to anyone, deliberately."""
    view.public = True
    return view


def roles_required(*roles: str) -> Callable:
    """HTML views: log in first, then the role must be one of `roles` (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from competency.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def api_roles_required(*roles: str, answering: str | None = None) -> Callable:
    """JSON API views: a bearer token of an active user whose role is one of `roles`.

    `answering` names the URL parameter of an attempt the view answers: the attempt is then read
    and locked with the token, in one query, as `g.api_attempt` (None unless it is the caller's),
    for the length of the view (services.attempts.answering).
    """

    def decorator(view: Callable) -> Callable:
        def call(user, *args, **kwargs):
            if user is None:
                abort(401)
            if user.role not in roles:
                abort(403)
            g.api_user = user
            return view(*args, **kwargs)

        @wraps(view)
        def wrapped(*args, **kwargs):
            from competency.services.accounts import user_for_token
            from competency.services.attempts import answering as locked_for_answering

            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            token = token.strip() if scheme.lower() == "bearer" else ""
            if answering is None:
                return call(user_for_token(token), *args, **kwargs)
            with locked_for_answering(token, kwargs[answering]) as (user, g.api_attempt):
                return call(user, *args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def same_institution(actor: User, institution_id: int | None) -> bool:
    """Platform admins see everything; everyone else only their own institution."""
    return actor.role == Role.PLATFORM_ADMIN or (
        actor.institution_id is not None and actor.institution_id == institution_id
    )


def scope_to_institution(stmt: Select, column, actor: User) -> Select:
    if actor.role == Role.PLATFORM_ADMIN:
        return stmt
    return stmt.where(column == actor.institution_id)


def safe_next(target: str | None) -> str | None:
    """Accept only a path on this site; anything with a scheme, a host or a backslash is dropped."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
