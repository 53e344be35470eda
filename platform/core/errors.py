"""Domain errors: an expected "no" from a service, shown to people as a clear message, never a 500."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base for every rule a service enforces. ``code`` is stable for API clients; ``message`` is
    translated text for people; ``status`` is the HTTP status the API answers with."""

    code = "invalid"
    status = 400

    def __init__(self, message: Any = "", *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message or self.__class__.__doc__ or ""
        if code:
            self.code = code
        self.details = details or {}

    def __str__(self) -> str:
        return str(self.message)


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403


class InvalidInput(DomainError):
    """Input that passed the schema but cannot be used. ``details`` names the fields the way a schema
    error does: ``{"fields": [...], "errors": [{"loc": [source, field], "msg", "type"}]}``."""

    code = "validation_error"
    status = 422

    def __init__(self, message: Any = "", *, fields: list[str] | tuple[str, ...] = (), source: str = "body"):
        super().__init__(
            message,
            details={
                "fields": list(fields),
                "errors": [{"loc": [source, name], "msg": str(message), "type": "value_error"} for name in fields],
            },
        )
