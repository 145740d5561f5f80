"""Error pages: JSON `{error: {code, message}}` under /api/, an accessible HTML page elsewhere."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from werkzeug.exceptions import HTTPException

from competency.services.errors import ServiceError
from competency.web.paths import API_PREFIX

TITLES = {
    400: _l("Bad request"),
    401: _l("Please log in"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("File too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
    503: _l("Service unavailable"),
}


def _wants_json() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, code: str, message: str, field: str | None = None):
    if _wants_json():
        body = {"code": code, "message": message}
        if field:
            body["field"] = field
        return jsonify(error=body), status
    return render_template(
        "error.html", status=status, title=str(TITLES.get(status, _l("Error"))), message=message
    ), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        current_app.logger.info("CSRF refused: %s", exc.description)
        return error_response(
            400, "csrf", _("The form expired or was not sent from this site. Please try again.")
        )

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        messages = {
            401: _("You need to log in to see this."),
            403: _("Your role does not allow this."),
            400: _("The request could not be understood. Please check what you sent and try again."),
            404: _("We could not find what you asked for."),
            405: _("This address does not accept that kind of request."),
            413: _("The file is too large. Please upload a smaller file."),
            429: _("Too many attempts. Please wait a few minutes and try again."),
        }
        message = messages.get(status) or (exc.description if status < 500 else _("Please try again later."))
        return error_response(status, exc.name.lower().replace(" ", "_"), message)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(SATimeoutError)
    def database_unavailable(exc: Exception):
        """The database cannot be reached, lost the connection, or refuses writes (disk full): 503."""
        app.logger.error("database unavailable: %s", exc)
        from competency.extensions import db

        try:
            db.session.rollback()
        except Exception:  # the connection may be gone; the session is discarded either way
            db.session.close()
        response, status = error_response(
            503,
            "database_unavailable",
            _(
                "The service is briefly unavailable. Nothing was saved from this request; please try again shortly."
            ),
        )
        response = make_response(response, status)
        response.headers["Retry-After"] = str(app.config["DB_RETRY_AFTER_SECONDS"])
        return response

    @app.errorhandler(DataError)
    def data_error(exc: DataError):
        """A value the database cannot store (out of range, a NUL byte): the request is refused whole."""
        app.logger.info("database refused a value: %s", exc)
        from competency.extensions import db

        db.session.rollback()
        return error_response(400, "invalid_value", _("A value in the request cannot be stored."))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        from competency.extensions import db

        db.session.rollback()
        return error_response(500, "internal_error", _("Please try again later."))
