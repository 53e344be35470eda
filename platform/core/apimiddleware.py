"""The edge of the JSON API: per-IP rate limit before anything else runs, the fast reads, and the
guarantee that every answer under /api/ that is an error is JSON in the API's error shape (a 405 from
the router, an HTML error page from Django) — never HTML.

Fast writes (``settings.API_FAST_WRITES``, same form) are the hottest writes of apps: a POST with a
bearer token and no session cookie is given to its handler here, which checks the token itself and
answers, or answers None (before changing anything) to leave it to the regular route: for anything it
does not handle plainly (another kind of caller, input to refuse, an ``Idempotency-Key``). It answers
what the route would, in the API's error shape for a refusal, with the route's headers
(``finish_as_route``).

Fast reads (``settings.API_FAST_READS``: ``{path regex: "dotted.path.to.handler"}``) are public reads
whose anonymous GETs the edge answers itself, after the rate limit and inside the security-header
middleware, but before sessions, authentication, locale, messages and the router: for a small public
read those cost several times the read. A handler gets the request and the path's named groups and
answers a response, or None to leave the request to the regular route (which then answers every
refusal in the API's error shape and the caller's language). A request with a session cookie or an
``Authorization`` header always takes the regular route.
"""

from __future__ import annotations

import functools
import re

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.net import client_ip
from core.ratelimit import hit, too_many_requests, window_seconds
from core.views import api_error

# JSON errors that pass unchanged: the API's own, and FHIR OperationOutcomes from /api/fhir/
JSON_TYPES = ("application/json", "application/fhir+json")

API_PREFIX = "/api/"

_CODES = {
    400: ("bad_request", gettext_noop("Bad request.")),
    401: ("not_authenticated", gettext_noop("Authentication required.")),
    403: ("forbidden", gettext_noop("You may not do this.")),
    404: ("not_found", gettext_noop("Not found.")),
    405: ("method_not_allowed", gettext_noop("This method is not allowed here.")),
    413: ("request_too_large", gettext_noop("The request body is too large.")),
    500: ("server_error", gettext_noop("Something went wrong on our side.")),
}


@functools.cache
def _compiled(table: tuple[tuple[str, str], ...]) -> tuple:
    return tuple((re.compile(pattern), import_string(handler)) for pattern, handler in table)


def fast_reads() -> tuple:
    """The compiled ``API_FAST_READS``: ``((pattern, handler), …)``."""
    return _compiled(tuple(getattr(settings, "API_FAST_READS", {}).items()))


def fast_writes() -> tuple:
    """The compiled ``API_FAST_WRITES``: ``((pattern, handler), …)``."""
    return _compiled(tuple(getattr(settings, "API_FAST_WRITES", {}).items()))


def is_anonymous(request) -> bool:
    return "HTTP_AUTHORIZATION" not in request.META and settings.SESSION_COOKIE_NAME not in request.COOKIES


def is_bearer_only(request) -> bool:
    """An ``Authorization`` header and no session cookie: nothing but the token speaks for the caller."""
    return "HTTP_AUTHORIZATION" in request.META and settings.SESSION_COOKIE_NAME not in request.COOKIES


def finish_as_route(request, response, language: str):
    """The headers the regular route's middleware would add to a fast write's answer: the language it
    was given in (LocaleMiddleware), ``Vary`` as the session and locale middleware set it for a bearer
    call, and ``Content-Length`` (CommonMiddleware). ``X-Frame-Options`` is added by the edge."""
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    response.headers.setdefault("Content-Language", language)
    if not response.streaming and not response.has_header("Content-Length"):
        response.headers["Content-Length"] = str(len(response.content))
    return response


class ApiEdgeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        verdict = hit(
            "ip", client_ip(request), limit=int(getattr(settings, "API_RATE_LIMIT_PER_IP", 0)), window=window_seconds()
        )
        if not verdict.allowed:
            # answered before LocaleMiddleware runs: pick the caller's language here
            with translation.override(translation.get_language_from_request(request)):
                return too_many_requests(verdict.retry_after)
        if request.method == "GET" and is_anonymous(request):
            response = self._fast(request, fast_reads())
            if response is not None:
                return response
        elif request.method == "POST" and is_bearer_only(request):
            response = self._fast(request, fast_writes())
            if response is not None:
                return response
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(JSON_TYPES):
            return self._as_json(response)
        return response

    def _fast(self, request, table):
        path = request.path_info
        for pattern, handler in table:
            match = pattern.match(path)
            if match is None:
                continue
            response = handler(request, **match.groupdict())
            if response is not None and "X-Frame-Options" not in response:
                # what XFrameOptionsMiddleware, further in, would have added
                response["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()
            return response
        return None

    def _as_json(self, response):
        code, message = _CODES.get(
            response.status_code, (f"http_{response.status_code}", gettext_noop("Request failed."))
        )
        replacement = api_error(status=response.status_code, code=code, message=_(message))
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replacement[header] = response[header]
        return replacement
