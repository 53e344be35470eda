"""The JSON API at /api/v1/ (django-ninja): authentication, rate limits and one error format for
every endpoint.

Errors always look like ``{"error": {"code": "...", "message": "...", "details": {...}}}``.
Apps log in through allauth's headless API (``POST /_allauth/app/v1/auth/login``) and send
``Authorization: Bearer <access_token>``; the bearer token is tried first and needs no CSRF token.
Browsers use their session; a session write must carry the CSRF token (``X-CSRFToken``), exactly as a
form would.
"""

from __future__ import annotations

import logging

from allauth.headless.contrib.ninja.security import JWTTokenAuth
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError
from ninja.security import SessionAuth
from ninja.utils import check_csrf

from core.apitypes import ERRORS
from core.errors import DomainError
from core.ratelimit import UserRateThrottle

logger = logging.getLogger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class CsrfFailed(DomainError):
    code = "csrf_failed"
    status = 403


class BearerAuth(JWTTokenAuth):
    """allauth headless JWT access token → the user (ninja's ``request.auth``)."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request):
        # accounts.middleware.StaffAreaMFAMiddleware checked this very header already (signature,
        # expiry, its session, the session's user): take its answer instead of reading all again
        checked = getattr(request, "bearer_checked", None)
        if checked is not None and checked[0] == request.headers.get("Authorization"):
            request.user = checked[1]
        else:
            payload = super().__call__(request)
            if payload is None:
                return None
        if not request.user.is_active:
            return None
        return request.user


class CsrfSessionAuth(SessionAuth):
    """The browser's session, tried after the bearer token. Only a signed-in session is checked for
    CSRF (an anonymous request is simply not authenticated: 401), and a failed check answers 403
    ``csrf_failed`` in the API's error shape."""

    def _get_key(self, request):
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if request.method not in SAFE_METHODS and not getattr(request, "_ninja_csrf_exempt", False):
            # Read the body first: the CSRF check looks into request.POST, which would otherwise
            # consume the stream and leave the JSON body unreadable for the handler.
            request.body  # noqa: B018
            if check_csrf(request) is not None:
                raise CsrfFailed(
                    _("CSRF check failed: send the X-CSRFToken header with a session, or use a bearer token.")
                )
        return user


DESCRIPTION = """
Clinic booking and telemedicine API.

**Authentication.** Log in with allauth's headless API — `POST /_allauth/app/v1/auth/login`
`{"email", "password"}` — and send `Authorization: Bearer <meta.access_token>`. Refresh with
`POST /_allauth/app/v1/tokens/refresh`, log out with `DELETE /_allauth/app/v1/auth/session`. Those
endpoints are documented on [the accounts API page](/api/v1/docs/accounts) (allauth's headless
specification, [/_allauth/openapi.json](/_allauth/openapi.json)). Browsers may use their session instead; session
writes need the `X-CSRFToken` header.

**Errors** always have the shape `{"error": {"code", "message", "details"}}`; 422 lists the
invalid fields in `details.errors[].loc`.

**Lists** answer `{"items", "count", "limit", "offset"}` and take `limit` (1–100, default 20) and
`offset`.

**Rate limits** per client IP and per user answer 429 with `Retry-After`.
"""

api = NinjaAPI(
    title="Medbook API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=[BearerAuth(), CsrfSessionAuth()],
    throttle=[UserRateThrottle()],
)


def error_response(request, *, status: int, code: str, message, details=None, headers=None):
    response = api.create_response(
        request, {"error": {"code": code, "message": str(message), "details": details or {}}}, status=status
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    return error_response(request, status=exc.status, code=exc.code, message=exc.message, details=exc.details)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    return error_response(
        request, status=422, code="validation_error", message=_("Invalid input."), details={"errors": exc.errors}
    )


@api.exception_handler(AuthenticationError)
def _authentication_error(request, exc):
    return error_response(request, status=401, code="not_authenticated", message=_("Authentication required."))


@api.exception_handler(AuthorizationError)
def _authorization_error(request, exc):
    return error_response(request, status=403, code="forbidden", message=_("You may not do this."))


@api.exception_handler(Throttled)
def _throttled(request, exc):
    retry_after = max(1, int(getattr(request, "_api_retry_after", 0) or 1))
    return error_response(
        request,
        status=429,
        code="rate_limited",
        message=_("Too many requests. Try again in %(seconds)s seconds.") % {"seconds": retry_after},
        details={"retryAfter": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


@api.exception_handler(DjangoPermissionDenied)
def _permission_denied(request, exc):
    return error_response(request, status=403, code="forbidden", message=str(exc) or _("You may not do this."))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, status=404, code="not_found", message=_("Not found."))


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return error_response(request, status=413, code="request_too_large", message=_("The request body is too large."))


@api.exception_handler(MultiPartParserError)
@api.exception_handler(RawPostDataException)
@api.exception_handler(UnreadablePostError)
@api.exception_handler(SuspiciousOperation)
@api.exception_handler(BadRequest)
def _bad_request(request, exc):
    # An unreadable body (multipart without a boundary, a broken upload, too many fields): the
    # client's mistake, never a server error. Details stay out of the answer.
    logger.info("bad API request body: %s", exc.__class__.__name__)
    return error_response(
        request, status=400, code="bad_request", message=_("The request body could not be read. Send JSON.")
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error_response(request, status=exc.status_code, code="http_error", message=str(exc))


@api.exception_handler(Exception)
def _unexpected(request, exc: Exception):
    logger.exception("unhandled API error", exc_info=exc)
    return error_response(request, status=500, code="server_error", message=_("Something went wrong on our side."))


class MeOut(Schema):
    """(snake_case, as it always was; newer endpoints answer in camelCase)"""

    id: int
    email: str
    first_name: str
    last_name: str
    role: str
    language: str
    time_zone: str


me_router = Router(tags=["account"])


@me_router.get("/me", response={200: MeOut, **ERRORS}, summary="The authenticated user")
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
