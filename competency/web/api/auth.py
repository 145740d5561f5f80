"""Bearer tokens for the JSON API."""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from competency.services import accounts
from competency.services.errors import ServiceError
from competency.web.api.blueprint import bp
from competency.web.api.helpers import json_body, require
from competency.web.authz import ALL_ROLES, api_roles_required, public


@bp.route("/auth/token", methods=["POST"])
@public
def issue_token():
    """Exchange a user name and password for a bearer token."""
    data = json_body()
    username = require(data, "username")
    password = require(data, "password")
    outcome = accounts.authenticate(username, password, request.remote_addr or "?")
    if outcome.rate_limited:
        raise accounts.RateLimited("rate_limited", _("too many failed attempts; wait a few minutes"))
    if outcome.user is None:
        raise ServiceError("invalid_credentials", _("wrong user name or password"), status=401)
    token, expires = accounts.issue_token(outcome.user)
    return jsonify(token=token, expires_at=expires.isoformat())


@bp.route("/auth/token", methods=["DELETE"])
@api_roles_required(*ALL_ROLES)
def revoke_token():
    """Revoke the token that authorises this request."""
    token = request.headers["Authorization"].partition(" ")[2].strip()
    accounts.revoke_token(token, actor=g.api_user)
    return "", 204


@bp.route("/me")
@api_roles_required(*ALL_ROLES)
def me():
    """Who the token belongs to."""
    user = g.api_user
    return jsonify(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        institution=user.institution.name if user.institution else None,
        locale=user.locale,
    )
