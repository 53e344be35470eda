from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

from accounts.models import Role
from core.net import client_ip


def home_url_for(user) -> str:
    """Where a user lands after logging in: their own workspace."""
    if user.is_authenticated:
        if user.is_staff:
            return reverse("admin:index")
        if user.role == Role.EDITOR:
            return reverse("wagtailadmin_home")
        return reverse("portal:home")
    return "/"


class MedbookAccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        # An explicit ?next= is honoured by allauth before this is called.
        return home_url_for(request.user)

    def save_user(self, request, user, form, commit=True):
        # Self sign-up is for patients only; clinic roles are created in the admin.
        user.role = Role.PATIENT
        return super().save_user(request, user, form, commit=commit)

    def get_client_ip(self, request):
        # one definition of the client IP for every rate limit (README "Security")
        return client_ip(request)
