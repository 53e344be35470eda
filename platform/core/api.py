"""The JSON API at /api/v1/ (django-ninja): authentication and one error format for every endpoint.

Errors always look like ``{"error": {"code": "...", "message": "...", "details": {...}}}``.
Browsers authenticate with their session (CSRF-checked on writes); apps log in through allauth's
headless API (``POST /_allauth/app/v1/auth/login``) and send ``Authorization: Bearer <access_token>``.
"""

from __future__ import annotations

import logging

from allauth.headless.contrib.ninja.security import JWTTokenAuth
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.security import SessionAuth

from core.errors import DomainError

logger = logging.getLogger(__name__)


class BearerAuth(JWTTokenAuth):
    """allauth headless JWT access token → the user (ninja's ``request.auth``)."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request):
        payload = super().__call__(request)
        if payload is None or not request.user.is_active:
            return None
        return request.user


api = NinjaAPI(
    title="Medbook API",
    version="1",
    description="Clinic booking and telemedicine API. Errors: {error: {code, message, details}}.",
    urls_namespace="api",
    auth=[SessionAuth(), BearerAuth()],
)


def error_response(request, *, status: int, code: str, message: str, details=None):
    return api.create_response(
        request, {"error": {"code": code, "message": str(message), "details": details or {}}}, status=status
    )


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    return error_response(request, status=exc.status, code=exc.code, message=exc.message, details=exc.details)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    return error_response(
        request, status=422, code="validation_error", message="Invalid input.", details={"errors": exc.errors}
    )


@api.exception_handler(AuthenticationError)
def _authentication_error(request, exc):
    return error_response(request, status=401, code="not_authenticated", message="Authentication required.")


@api.exception_handler(AuthorizationError)
def _authorization_error(request, exc):
    return error_response(request, status=403, code="forbidden", message="You may not do this.")


@api.exception_handler(DjangoPermissionDenied)
def _permission_denied(request, exc):
    return error_response(request, status=403, code="forbidden", message=str(exc) or "You may not do this.")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, status=404, code="not_found", message="Not found.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error_response(request, status=exc.status_code, code="http_error", message=str(exc))


@api.exception_handler(Exception)
def _unexpected(request, exc: Exception):
    logger.exception("unhandled API error", exc_info=exc)
    return error_response(request, status=500, code="server_error", message="Something went wrong on our side.")


class MeOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    role: str
    language: str
    time_zone: str


me_router = Router(tags=["account"])


@me_router.get("/me", response=MeOut, summary="The authenticated user")
def me(request):
    user = request.auth
    return MeOut(
        id=user.pk,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        role=user.role,
        language=user.language or "",
        time_zone=user.effective_time_zone,
    )


api.add_router("", me_router)
