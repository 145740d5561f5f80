"""Template helpers and security headers shared by every page."""

from __future__ import annotations

from flask import Flask, Response
from flask_login import current_user

from competency.web import i18n, labels


def register_context(app: Flask) -> None:
    from competency.web.forms import (
        CATEGORY_LABELS,
        INSTITUTION_TYPE_LABELS,
        ROLE_LABELS,
        STAGE_LABELS,
        STATUS_LABELS,
    )

    def labeller(labels: dict):
        by_value = {str(k.value): v for k, v in labels.items()}
        return lambda value: by_value.get(value, value or "—")

    from competency.web.manage_forms import KINDS

    app.jinja_env.filters["role_label_filter"] = labeller(ROLE_LABELS)
    # Globals, not context: macros imported without context (tables, badges) use them too.
    app.jinja_env.globals.update(
        bi=labels.bi,
        code_name=labels.code_name,
        dimension_name=labels.dimension_name,
        level_label=labels.level_label,
        zone_note=labels.zone_note,
        questions=labels.questions,
        colon=labels.colon,
        paren=labels.paren,
    )

    @app.context_processor
    def inject() -> dict:
        return {
            "html_lang": i18n.html_lang(),
            "current_locale": i18n.select_locale(),
            "user": current_user,
            "role_label": labeller(ROLE_LABELS),
            "category_label": labeller(CATEGORY_LABELS),
            "stage_label": labeller(STAGE_LABELS),
            "institution_type_label": labeller(INSTITUTION_TYPE_LABELS),
            "status_label": lambda value: STATUS_LABELS.get(value, value),
            "kind_label": lambda value: KINDS.get(value, value),
        }

    app.jinja_env.filters["combine_page"] = lambda args, page: {**args, "page": page}
    app.jinja_env.filters["datetime"] = labels.local_datetime

    @app.after_request
    def security_headers(response: Response) -> Response:
        # One pass over the response's headers instead of one per setdefault: every response pays this.
        headers = response.headers
        present = {key.lower() for key, _value in headers}
        for lower, key, value in SECURITY_HEADERS:
            if lower not in present:
                headers.add(key, value)
        return response


# Added to every response that does not set its own. Every asset is served by the app itself, so the
# policy can forbid all other origins.
SECURITY_HEADERS = tuple(
    (key.lower(), key, value)
    for key, value in (
        (
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    )
)
