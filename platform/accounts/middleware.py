from __future__ import annotations

from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role

STAFF_AREAS = ("/admin/", "/cms/")
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
    """Nobody reaches /admin/ or /cms/ on a session that skipped their second factor.

    Both admin logins are redirected to allauth, so the normal way in already asks for the TOTP code;
    this closes the other ways a session can become authenticated (e.g. a password-only API login)
    by sending the user to allauth's MFA re-authentication. With ``MEDBOOK_REQUIRE_STAFF_MFA``
    clinic accounts without MFA are sent to set it up first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and path.startswith(STAFF_AREAS)
            and not path.startswith(STAFF_AREA_EXEMPT)
        ):
            query = urlencode({"next": request.get_full_path()})
            if is_mfa_enabled(user):
                records = get_authentication_records(request, user)
                if not any(record.get("method") == "mfa" for record in records):
                    return redirect(f"{reverse('mfa_reauthenticate')}?{query}")
            elif settings.MEDBOOK_REQUIRE_STAFF_MFA and (user.is_staff or user.role == Role.EDITOR):
                return redirect(f"{reverse('mfa_activate_totp')}?{query}")
        return self.get_response(request)
