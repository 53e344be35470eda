"""Response headers that keep health data private, in one place.

- ``Cache-Control: no-store, private`` on every response from an area that carries patient or account
  data (by URL prefix, with an explicit list of public reads): no browser cache, shared proxy or
  back-forward cache keeps a copy of a visit, a record or a token.
- ``Permissions-Policy``: camera and microphone only on the video visit page; nothing else may ask.
- ``Content-Security-Policy`` (django-csp): the base policy is in settings; ``AreaCSPMiddleware``
  adds the few relaxations a third-party area needs, for that area's paths only (see
  ``CSP_AREA_RELAXATIONS``).
"""

from __future__ import annotations

import re

from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponse

# Areas whose every response is private: the patient portal (visits, receipts, .ics, medical record,
# messages and their poll JSON, support tickets, notifications, video), the admin, the CMS admin,
# account pages (allauth, MFA), the headless auth API (tokens), the JSON API, the private
# calendar feeds (a person's visits, behind a secret link) and the waiting-room queue boards (patients'
# initials and queue numbers, behind a secret link).
PRIVATE_PREFIXES = ("/portal/", "/admin/", "/cms/", "/accounts/", "/_allauth/", "/api/", "/calendar/", "/board/")

# Public reads inside those areas: anonymous GETs of the doctor directory, free slots, doctors' public
# ratings and the API's own description. Anything else under the prefixes is private.
PUBLIC_READS = tuple(
    re.compile(pattern)
    for pattern in (
        r"^/api/v1/doctors$",
        r"^/api/v1/doctor/\d+/schedules$",
        r"^/api/v1/doctor/\d+/available-dates$",
        r"^/api/v1/doctor/\d+/ratings$",
        r"^/api/v1/openapi\.json$",
        r"^/api/v1/docs$",
    )
)

# URL names (namespace:name) of pages that use the camera and microphone.
VIDEO_URL_NAMES = frozenset({"portal:video_visit"})

# Features nobody needs; the video page gets camera and microphone for this origin only.
_DENIED = ("geolocation", "payment", "usb", "serial", "bluetooth", "hid", "midi", "display-capture")
PERMISSIONS_POLICY = ", ".join([*(f"{feature}=()" for feature in _DENIED), "camera=()", "microphone=()"])
VIDEO_PERMISSIONS_POLICY = ", ".join(
    [*(f"{feature}=()" for feature in _DENIED), "camera=(self)", "microphone=(self)", "fullscreen=(self)"]
)


def is_private(request: HttpRequest) -> bool:
    """Does the response to ``request`` carry patient or account data (and so must never be cached)?"""
    path = request.path_info
    if not path.startswith(PRIVATE_PREFIXES):
        return False
    public_read = request.method in ("GET", "HEAD") and any(pattern.match(path) for pattern in PUBLIC_READS)
    return not public_read


def is_video_page(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.view_name in VIDEO_URL_NAMES


class PrivacyHeadersMiddleware:
    """Sets ``Cache-Control`` on private responses and ``Permissions-Policy`` on every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_private(request):
            # Replace, not merge: a view's own "public, max-age" must not survive on a private page.
            response["Cache-Control"] = "no-store, private"
            response["Pragma"] = "no-cache"  # HTTP/1.0 proxies
            if "Expires" in response:
                del response["Expires"]
        response["Permissions-Policy"] = VIDEO_PERMISSIONS_POLICY if is_video_page(request) else PERMISSIONS_POLICY
        return response


class AreaCSPMiddleware(CSPMiddleware):
    """django-csp's middleware plus the per-area relaxations of ``settings.CSP_AREA_RELAXATIONS``:
    ``{path prefix or "namespace:url_name": {directive: [sources]}}``. Each listed directive replaces
    the base one for requests in that area only; everything else keeps the base policy."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        from django.conf import settings

        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        match = getattr(request, "resolver_match", None)
        view_name = match.view_name if match is not None else None
        for area, directives in getattr(settings, "CSP_AREA_RELAXATIONS", {}).items():
            in_area = area == view_name if ":" in area else request.path_info.startswith(area)
            if in_area:
                parts.replace = {**(parts.replace or {}), **directives}
        return parts
