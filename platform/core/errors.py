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
    """Input that cannot be stored, compared or used. ``fields`` names the fields (a list, all with
    ``message``) or maps each field to its own problem; ``details`` then looks like a schema error:
    ``{"fields": [...], "errors": [{"loc": [source, field], "msg", "type"}]}`` plus any ``extra``."""

    code = "validation_error"
    status = 422

    def __init__(
        self,
        message: Any = "",
        *,
        fields: dict[str, Any] | list[str] | tuple[str, ...] = (),
        source: str = "body",
        code: str | None = None,
        extra: dict | None = None,
    ):
        problems = dict(fields) if isinstance(fields, dict) else dict.fromkeys(fields, message)
        super().__init__(
            message,
            code=code,
            details={
                "fields": list(problems),
                "errors": [
                    {"loc": [source, name], "msg": str(problem), "type": "value_error"}
                    for name, problem in problems.items()
                ],
                **(extra or {}),
            },
        )

    @property
    def field_errors(self) -> dict[str, str]:
        """Each field's problem, for a form to show next to the field."""
        return {error["loc"][-1]: error["msg"] for error in self.details.get("errors", [])}
