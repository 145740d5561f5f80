"""Central input guards, run before any view: what no view should have to check again.

* Path integers: the ``int`` URL converter refuses values a 64-bit database column cannot hold, so
  ``/…/99999999999999999999`` is a 404, never an overflow inside the database driver.
* JSON bodies (the API): at most ``API_MAX_JSON_BYTES``, nested at most ``API_MAX_JSON_DEPTH`` deep
  (checked without recursion), every integer within a 64-bit column's range, every string free of
  NUL and other control characters. A refused body is a 400/413 with ``{error: {code, message, field}}``.
* Form fields and query parameters: no NUL or control characters, no digit strings beyond the
  64-bit range (they would reach an integer column), for the same reason.

Tabs and line breaks are ordinary text and stay allowed.
"""

from __future__ import annotations

import json
import re

from flask import Flask, current_app, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from competency.tests_bank.safe_archive import Limits, UploadRefused, load_json
from competency.web.paths import API_PREFIX

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# C0 controls but tab, LF, CR; DEL; C1 controls. A NUL cannot be stored in PostgreSQL text at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_DIGITS = re.compile(r"^[+-]?\d{19,}$")
# Fields that are text made of digits, never a number for an integer column (a certificate code may
# happen to be all digits).
_DIGITS_ARE_TEXT = frozenset({"code", "password", "current_password", "new_password", "repeat_password"})


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` limited to what a BIGINT column holds; larger ids simply match no route (404)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", INT64_MAX)
        super().__init__(map, *args, **kwargs)


class InputRefused(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def has_control_characters(text: str) -> bool:
    return bool(_CONTROL.search(text))


def _field_path(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "body"


def check_json_value(value: object) -> None:
    """Refuse out-of-range integers and control characters anywhere in a parsed JSON value."""
    stack: list[tuple[object, list[str | int]]] = [(value, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, bool) or node is None or isinstance(node, float):
            continue
        if isinstance(node, int):
            if not INT64_MIN <= node <= INT64_MAX:
                raise InputRefused(400, "out_of_range", _("This number is out of range."), _field_path(path))
        elif isinstance(node, str):
            if has_control_characters(node):
                raise InputRefused(
                    400,
                    "control_characters",
                    _("Text may not contain control characters."),
                    _field_path(path),
                )
        elif isinstance(node, dict):
            for key, child in node.items():
                if has_control_characters(key):
                    raise InputRefused(
                        400,
                        "control_characters",
                        _("Text may not contain control characters."),
                        _field_path(path),
                    )
                stack.append((child, [*path, key]))
        elif isinstance(node, list):
            stack.extend((child, [*path, i]) for i, child in enumerate(node))


def check_json_body() -> None:
    limit = current_app.config["API_MAX_JSON_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise InputRefused(413, "body_too_large", _("The request body is too large."))
    data = request.get_data(cache=True)
    if len(data) > limit:
        raise InputRefused(413, "body_too_large", _("The request body is too large."))
    if not data.strip():
        return  # the view reports the missing body in its own terms
    limits = Limits(max_json_depth=current_app.config["API_MAX_JSON_DEPTH"])
    try:
        value = load_json(data, limits)
    except UploadRefused as exc:
        raise InputRefused(400, "json_too_deep", _("The JSON body is nested too deeply.")) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputRefused(400, "invalid_json", _("The request body is not valid JSON.")) from exc
    check_json_value(value)


def check_form_and_query() -> None:
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            if has_control_characters(name) or has_control_characters(value):
                raise InputRefused(
                    400, "control_characters", _("Text may not contain control characters."), name
                )
            if (
                name not in _DIGITS_ARE_TEXT
                and _DIGITS.match(value.strip())
                and not INT64_MIN <= int(value) <= INT64_MAX
            ):
                raise InputRefused(400, "out_of_range", _("This number is out of range."), name)


def register(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntegerConverter

    @app.before_request
    def guard_input():
        try:
            if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.path.startswith(API_PREFIX):
                check_json_body()
            check_form_and_query()
        except InputRefused as exc:
            from competency.web.errors import error_response

            message = exc.message if exc.field is None else f"{exc.message} ({exc.field})"
            return error_response(exc.status, exc.code, message, exc.field)
        return None
