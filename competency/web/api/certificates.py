"""Certificates in the JSON API: public verification by code, and the caller's own certificates."""

from __future__ import annotations

from flask import g, jsonify, request

from competency.services import certificates
from competency.web.api.blueprint import bp
from competency.web.authz import ALL_ROLES, api_roles_required, public
from competency.web.i18n import select_locale


@bp.route("/certificates/<code>")
@public
def verify_certificate(code: str):
    """Verification without login: {status, holder, assessment, levels, issued_at, expires_at}; 404 if unknown,
    429 for an address that looked up too many unknown codes lately."""
    cert = certificates.find_public(code, request.remote_addr or "?")
    return jsonify(certificates.public_view(cert, select_locale()))


@bp.route("/certificates")
@api_roles_required(*ALL_ROLES)
def my_certificates():
    """The caller's certificates with their status."""
    locale = select_locale()
    return jsonify(
        certificates=[certificates.public_view(c, locale) for c in certificates.held_by(g.api_user)]
    )
