"""Shared parsing for JSON API routes."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from competency.services.errors import ServiceError


def json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ServiceError("invalid_json", _("the request body must be a JSON object"))
    return data


def require(data: dict, field: str, kind: type | tuple[type, ...] = str):
    value = data.get(field)
    if value is None or value == "":
        raise ServiceError("missing_field", _("%(field)s is required", field=field), field)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int subclass; refuse `true` where a number is expected.
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise ServiceError("invalid_field", _("%(field)s has the wrong type", field=field), field)
    return value
