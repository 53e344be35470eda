"""Response headers that keep health data private, in one place.

- ``Cache-Control: no-store, private`` on every response from an area that carries patient or account
  data (by URL prefix, with an explicit list of public reads): no browser cache, shared proxy or
  back-forward cache keeps a copy of a visit, a record or a token.
- ``Permissions-Policy``: camera and microphone only on the video visit page; nothing else may ask.
- ``Content-Security-Policy`` (django-csp): the base policy is in settings; ``AreaCSPMiddleware``
  adds the few relaxations a third-party area needs, for that area's paths only (see
  ``CSP_AREA_RELAXATIONS``), and builds each area's header once per process where no nonce was used
  (building it cost more than a whole fast API read's own work).
"""

from __future__ import annotations

import re

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
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


#: response attributes through which a view changes or drops its policy (django-csp's decorators)
_PER_VIEW_CSP = frozenset(
    {
        "_csp_config",
        "_csp_update",
        "_csp_replace",
        "_csp_exempt",
        "_csp_config_ro",
        "_csp_update_ro",
        "_csp_replace_ro",
        "_csp_exempt_ro",
    }
)
#: the built headers per area: {(area names, report only): header text}
_built_policies: dict[tuple, str] = {}


@receiver(setting_changed)
def _forget_built_policies(setting, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY") or setting in {"CSP_AREA_RELAXATIONS", "DEBUG"}:
        _built_policies.clear()


class AreaCSPMiddleware(CSPMiddleware):
    """django-csp's middleware plus the per-area relaxations of ``settings.CSP_AREA_RELAXATIONS``:
    ``{path prefix or "namespace:url_name": {directive: [sources]}}``. Each listed directive replaces
    the base one for requests in that area only; everything else keeps the base policy.

    A response whose request used no nonce and whose view set no policy of its own (most of them: the
    API, redirects, files) gets its area's header as built the first time (``_built_policies``); the
    others are built per response, as django-csp does."""

    def _areas(self, request) -> tuple[str, ...]:
        match = getattr(request, "resolver_match", None)
        view_name = match.view_name if match is not None else None
        return tuple(
            area
            for area in getattr(settings, "CSP_AREA_RELAXATIONS", {})
            if (area == view_name if ":" in area else request.path_info.startswith(area))
        )

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        relaxations = getattr(settings, "CSP_AREA_RELAXATIONS", {})
        for area in self._areas(request):
            parts.replace = {**(parts.replace or {}), **relaxations[area]}
        return parts

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or not _PER_VIEW_CSP.isdisjoint(vars(response)):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response  # django-csp leaves Django's debug pages alone
        areas = self._areas(request)
        for header, report_only, setting in (
            (HEADER, False, "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, True, "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            policy = _built_policies.get((areas, report_only))
            if policy is None:
                parts = self.get_policy_parts(request, response, report_only)
                policy = _built_policies[(areas, report_only)] = build_policy(
                    config=parts.config, update=parts.update, replace=parts.replace, report_only=report_only
                )
            excluded = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if policy and header not in response and not request.path_info.startswith(tuple(excluded)):
                response[header] = policy
        # as django-csp does: a nonce asked for after the header was written is an error, not a new nonce
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
