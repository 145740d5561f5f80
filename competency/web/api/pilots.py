"""Designated pilot units (试点单位) in the JSON API: the public, verifiable register."""

from __future__ import annotations

from flask import jsonify

from competency.services import pilot_designations
from competency.web.api.blueprint import bp
from competency.web.authz import public


@bp.route("/pilots")
@public
def pilots():
    """{pilots: [{code, institution, institution_type, industries, designated_at, ends_at, status}]}"""
    return jsonify(pilots=[pilot_designations.public_record(d) for d in pilot_designations.designations()])


@bp.route("/pilots/<code>")
@public
def pilot(code: str):
    """One designation, status "active" | "ended" | "revoked"; 404 for an unknown code."""
    return jsonify(pilot_designations.public_record(pilot_designations.find_designation(code)))
