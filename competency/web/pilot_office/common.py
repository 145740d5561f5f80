"""What every page of the programme office shares: the blueprint, who may use it, and the call or
application a page is about."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from competency.models import Role
from competency.services import pilot_applications as apps
from competency.services import pilot_calls
from competency.services.errors import NotFound

bp = Blueprint("pilot_office", __name__, url_prefix="/pilots/office")

OFFICERS = (Role.PROGRAMME_OFFICER.value, Role.PLATFORM_ADMIN.value)


def call_or_404(call_id: int):
    try:
        return pilot_calls.get(call_id)
    except NotFound:
        abort(404)


def application_or_404(application_id: int):
    try:
        return apps.get_visible(application_id, current_user)
    except NotFound:
        abort(404)
