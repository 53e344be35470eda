from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts.adapter import home_url_for
from accounts.services import user_set_preferences


@login_required
def accounts_home(request):
    return redirect(home_url_for(request.user))


def _safe_next(request, default: str) -> str:
    candidate = request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def staff_area_login(request, area: str):
    """The Django admin's and Wagtail's login pages: both hand over to allauth (and so to MFA).

    A logged-in user without access to the area gets a clear page instead of a login loop.
    """
    default = reverse("admin:index") if area == "admin" else reverse("wagtailadmin_home")
    next_url = _safe_next(request, default)
    user = request.user
    if user.is_authenticated:
        allowed = user.is_active and (user.is_staff if area == "admin" else user.has_perm("wagtailadmin.access_admin"))
        if allowed:
            return redirect(next_url)
        # The area's own refusal ("You do not have permission…") is replaced by this page's words:
        # marked as read and not shown.
        for _message in messages.get_messages(request):
            pass
        return render(request, "accounts/no_access.html", {"area": area, "messages": []}, status=403)
    return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")


@require_POST
def set_language(request):
    """Django's language switcher, remembering the choice on the account of a logged-in user."""
    response = django_set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        user_set_preferences(user=request.user, language=language)
    return response


# --- apps (allauth headless): sign-in codes by SMS to a patient's number only -----------------------

from allauth.headless.account.inputs import RequestLoginCodeInput  # noqa: E402
from allauth.headless.account.views import RequestLoginCodeView  # noqa: E402


class PhoneLoginCodeInput(RequestLoginCodeInput):
    """The app API's "send me a sign-in code", as the HTML page asks it (``PhoneLoginCodeForm``): a
    code texted to a patient's verified number. allauth's default would also mail a code to any
    address, which would let a clinic account without MFA in on an emailed code alone, past its
    password; clinic accounts keep email, password and MFA."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("email", None)
        self.fields["phone"].required = True


class PhoneLoginCodeView(RequestLoginCodeView):
    input_class = PhoneLoginCodeInput
