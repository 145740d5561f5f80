"""Authorisation: every view declares who may call it, and a test checks that none forgot."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, g, request
from flask_login import current_user
from sqlalchemy import Select

from competency.extensions import login_manager
from competency.models import Role, User
from competency.services.accounts import user_for_token

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
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def bearer_token() -> str:
    """The request's bearer token, or "" when it sends none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def api_roles_required(*roles: str) -> Callable:
    """JSON API views: a bearer token of an active user whose role is one of `roles`, as `g.api_user`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = user_for_token(bearer_token())
            if user is None:
                abort(401)
            if user.role not in roles:
                abort(403)
            g.api_user = user
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def roles_checked_in_service(*roles: str) -> Callable:
    """Declares `roles` on a view whose service checks the caller and the role itself, in the same read
    as the row it works on (answering: token, role, ownership and the attempt in one query). The view
    passes the same roles to the service; the route × role test checks that both agree."""

    def decorator(view: Callable) -> Callable:
        view.required_roles = roles
        return view

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
