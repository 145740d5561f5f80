"""Errors a service raises for the web layer to turn into a 4xx answer."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused request: `code` is machine-readable, `message` is for people, `field` names the culprit."""

    status = 400

    def __init__(self, code: str, message: str, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        if status is not None:
            self.status = status


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409
