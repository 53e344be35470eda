from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.bearer import bearer_user
from accounts.models import Role

STAFF_AREAS = ("/admin/", "/cms/")
API_AREA = "/api/"
STAFF_AREA_EXEMPT = ("/admin/login/", "/admin/logout/", "/cms/login/", "/cms/logout/")


class UserPreferencesMiddleware:
    """Activate the logged-in user's language and time zone (clinic zone when unset)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            timezone.activate(user.effective_time_zone)
            if user.language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
        else:
            timezone.activate(settings.CLINIC_TIME_ZONE)
        return self.get_response(request)


class StaffAreaMFAMiddleware:
    """Nobody reaches /admin/, /cms/ or /api/ on a session that skipped their second factor.

    Both admin logins are redirected to allauth, so the normal way in already asks for the TOTP code;
    this closes the other ways a session can lack it: a password-only API login, or a session that
    signed in before MFA was switched on. Browsers are sent to allauth's MFA re-authentication; the
    API answers 401 ``mfa_required`` in its JSON error shape, for a session cookie and for a bearer
    token alike (allauth's JWT tokens hang off a session, whose sign-in methods are checked here). With
    ``MEDBOOK_REQUIRE_STAFF_MFA`` clinic accounts without MFA are sent to set it up first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(API_AREA):
            refusal = self._api_refusal(request)
            if refusal is not None:
                return refusal
            return self.get_response(request)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and path.startswith(STAFF_AREAS)
            and not path.startswith(STAFF_AREA_EXEMPT)
        ):
            query = urlencode({"next": request.get_full_path()})
            if is_mfa_enabled(user):
                if not _passed_mfa(request.session, user):
                    return redirect(f"{reverse('mfa_reauthenticate')}?{query}")
            elif settings.MEDBOOK_REQUIRE_STAFF_MFA and (user.is_staff or user.role == Role.EDITOR):
                return redirect(f"{reverse('mfa_activate_totp')}?{query}")
        return self.get_response(request)

    def _api_refusal(self, request):
        user, session = _api_identity(request)
        if user is None or getattr(request, "bearer_mfa_checked", False):
            return None
        if not is_mfa_enabled(user) or _passed_mfa(session, user):
            return None
        body = {
            "error": {
                "code": "mfa_required",
                "message": str(_("Sign in again with your second factor to use the API.")),
                "details": {},
            }
        }
        return JsonResponse(body, status=401)


def _passed_mfa(session, user) -> bool:
    """Did ``user`` pass their second factor in ``session``? (allauth keeps the sign-in methods per
    session, for the user who signed in; the records only read ``.session`` of the request.)"""
    if session is None:
        return False
    records = get_authentication_records(SimpleNamespace(session=session), user)
    return any(record.get("method") == "mfa" for record in records)


def _api_identity(request):
    """The API caller and the session their credentials hang off: the browser session, or the
    session of a bearer token (allauth's JWT). ``(None, None)`` for anonymous or invalid credentials,
    which the API itself refuses."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        identity = bearer_user(header)  # one query, when the token is certainly good (it passed MFA)
        if identity is not None:
            request.bearer_checked = (header, identity.user)
            request.bearer_mfa_checked = True
            return identity.user, identity.session
        from allauth.headless.tokens.strategies.jwt.internal import (
            decode_token,
            get_token_session,
            validate_token_user,
        )

        payload = decode_token(header[7:].strip(), "access")
        session = get_token_session(payload) if payload else None
        user = validate_token_user(payload, session) if session is not None else None
        if user is None:
            return None, None
        # the same validation as allauth's stateful JWT check: the API's BearerAuth takes it from here
        request.bearer_checked = (header, user)
        return user, session
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user, request.session
    return None, None
