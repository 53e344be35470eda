"""The doctor application form (/join/): public, rate limited per client IP, answering every address the
same way. The view parses input and calls the onboarding service (workflows.clinic)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from booking.models import Specialty
from core.errors import Conflict, DomainError
from core.net import client_ip
from workflows.clinic import services as svc

# --- doctor applications --------------------------------------------------------------------------


class ApplicationForm(forms.Form):
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=150)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=150)
    email = forms.EmailField(label=gettext_lazy("Email"))
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=32)
    specialties = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Specialties"),
        queryset=Specialty.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    licence_number = forms.CharField(label=gettext_lazy("Practising licence number"), max_length=64)
    years_of_experience = forms.IntegerField(
        label=gettext_lazy("Years of experience"), min_value=0, max_value=70, initial=0
    )
    bio = forms.CharField(
        label=gettext_lazy("About you"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=4000,
        required=False,
        help_text=gettext_lazy("Training, experience, languages: shown on your profile once you join."),
    )
    # A field people never see: bots fill it in.
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["specialties"].queryset = Specialty.objects.filter(is_active=True).order_by("name")


# What the service answers when the address already has an account or an open application.
DUPLICATE_CODES = frozenset({"account_exists", "application_exists"})


def _over_limit(request) -> bool:
    key = f"clinic:apply:{client_ip(request)}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=3600)
        count = 1
    return count > settings.CLINIC_APPLICATIONS_PER_HOUR


@require_http_methods(["GET", "POST"])
def apply(request):
    """A doctor asks to join the clinic; the clinic decides in the admin."""
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["website"]:
            return redirect(reverse("join:done"))  # a bot: say thanks, store nothing
        if _over_limit(request):
            form.add_error(None, _("Too many applications from your network. Please try again in an hour."))
        else:
            try:
                svc.doctor_application_submit(
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                    phone=data["phone"],
                    licence_number=data["licence_number"],
                    years_of_experience=data["years_of_experience"] or 0,
                    bio=data["bio"],
                    specialties=data["specialties"],
                )
            except Conflict as exc:
                if exc.code not in DUPLICATE_CODES:
                    form.add_error(None, str(exc))
                else:
                    # The page answers exactly as for a new application, so the form cannot be used to
                    # learn whether an address has an account; the address's owner is told by email.
                    svc.doctor_application_duplicate_notice(email=data["email"], reason=exc.code)
                    return redirect(reverse("join:done"))
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect(reverse("join:done"))
    return render(request, "portal/join.html", {"form": form})


def apply_done(request):
    return render(request, "portal/join_done.html")
