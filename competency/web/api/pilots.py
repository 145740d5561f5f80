"""Designated pilot units (试点单位) in the JSON API: the public, verifiable register."""

from __future__ import annotations

from flask import jsonify

from competency.services import pilot_selection
from competency.web.api import bp
from competency.web.authz import public


@bp.route("/pilots")
@public
def pilots():
    """{pilots: [{code, institution, institution_type, industries, designated_at, ends_at, status}]}"""
    return jsonify(pilots=[pilot_selection.public_record(d) for d in pilot_selection.designations()])


@bp.route("/pilots/<code>")
@public
def pilot(code: str):
    """One designation, status "active" | "ended" | "revoked"; 404 for an unknown code."""
    return jsonify(pilot_selection.public_record(pilot_selection.find_designation(code)))
