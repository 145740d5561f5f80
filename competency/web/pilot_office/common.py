"""What every page of the programme office shares: the blueprint, who may use it, and the call or
application a page is about."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from competency.extensions import db
from competency.models import PilotCall, Role
from competency.services import pilot_applications as apps
from competency.services.errors import NotFound

bp = Blueprint("pilot_office", __name__, url_prefix="/pilots/office")

OFFICERS = (Role.PROGRAMME_OFFICER.value, Role.PLATFORM_ADMIN.value)


def call_or_404(call_id: int) -> PilotCall:
    return db.get_or_404(PilotCall, call_id)


def application_or_404(application_id: int):
    try:
        return apps.get_visible(application_id, current_user)
    except NotFound:
        abort(404)
