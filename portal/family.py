"""Family: the account holder's dependants (children, elderly parents): list, add, edit, their own
medical record, and giving one a login of their own. The rules and writes are ``accounts.family``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.family import dependant_add, dependant_convert, dependant_of, dependant_update, dependants_of
from accounts.models import Gender, Relationship
from accounts.services import medical_record_update, medical_record_viewed, patient_profile_ensure
from booking.models import Appointment
from booking.rules import visibility_q
from core.errors import DomainError, InvalidInput, NotFound
from portal.forms import MedicalRecordForm
from portal.views import patient_required


class DependantForm(forms.Form):
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=150)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=150)
    date_of_birth = forms.DateField(
        label=gettext_lazy("Date of birth"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    gender = forms.ChoiceField(label=gettext_lazy("Gender"), choices=[("", "—"), *Gender.choices], required=False)
    relationship = forms.ChoiceField(label=gettext_lazy("Relationship to you"), choices=Relationship.choices)
    national_id = forms.CharField(
        label=gettext_lazy("National ID (CCCD), if they have one"), max_length=32, required=False
    )


class OwnLoginForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Their email address"),
        help_text=gettext_lazy(
            "They get an email to set a password. Their visits and records move with them; you will no "
            "longer see or manage them."
        ),
    )


def _show_errors(form: forms.Form, exc: DomainError) -> None:
    fields = exc.field_errors if isinstance(exc, InvalidInput) else {}
    for name, problem in fields.items():
        form.add_error(name if name in form.fields else None, problem)
    if not fields:
        form.add_error(None, str(exc))


def _dependant_or_404(request, pk):
    from django.http import Http404

    try:
        return dependant_of(request.user, pk)
    except NotFound:
        raise Http404 from None


@patient_required
@require_http_methods(["GET", "POST"])
def family(request):
    """The holder's family members, and a form to add one."""
    if request.user.guardian_id is not None:  # a dependant has no family of their own to manage
        return redirect("portal:home")
    form = DependantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dependant = dependant_add(holder=request.user, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _show_errors(form, exc)
        else:
            messages.success(
                request, _("%(name)s is added to your family. You can now book visits for them.") % {"name": dependant}
            )
            return redirect("portal:family")
    members = list(dependants_of(request.user))
    return render(request, "portal/family.html", {"members": members, "form": form, "today": timezone.localdate()})


@patient_required
@require_http_methods(["GET", "POST"])
def family_member(request, pk: int):
    """One family member: their details, their own medical record and their visits."""
    dependant = _dependant_or_404(request, pk)
    profile = patient_profile_ensure(user=dependant)
    initial = {
        "first_name": dependant.first_name,
        "last_name": dependant.last_name,
        "date_of_birth": profile.date_of_birth,
        "gender": profile.gender,
        "relationship": dependant.relationship,
        "national_id": profile.national_id,
    }
    which = request.POST.get("form", "") if request.method == "POST" else ""
    form = DependantForm(request.POST if which == "details" else None, initial=initial)
    record_form = MedicalRecordForm(request.POST if which == "record" else None, instance=profile.medical_record)
    if which == "details" and form.is_valid():
        try:
            dependant_update(dependant=dependant, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _show_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("portal:family_member", pk=dependant.pk)
    if which == "record" and record_form.is_valid():
        medical_record_update(user=dependant, actor=request.user, **record_form.cleaned_data)
        messages.success(request, _("The medical record is saved."))
        return redirect("portal:family_member", pk=dependant.pk)
    if request.method == "GET":
        medical_record_viewed(profile=profile, actor=request.user, where="portal_family")
    visits = list(
        Appointment.objects.filter(visibility_q(user=request.user), patient=dependant)
        .select_related("doctor__user")
        .order_by("-starts_at", "-id")[:50]
    )
    return render(
        request,
        "portal/family_member.html",
        {
            "member": dependant,
            "profile": profile,
            "form": form,
            "record_form": record_form,
            "login_form": OwnLoginForm(),
            "visits": visits,
        },
    )


@patient_required
@require_POST
def family_member_login(request, pk: int):
    """Give a family member a login of their own (an email invitation to set a password)."""
    dependant = _dependant_or_404(request, pk)
    form = OwnLoginForm(request.POST)
    if form.is_valid():
        try:
            dependant_convert(dependant=dependant, actor=request.user, email=form.cleaned_data["email"])
        except DomainError as exc:
            _show_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s now has their own login: we emailed %(email)s a link to set a password.")
                % {"name": dependant, "email": form.cleaned_data["email"]},
            )
            return redirect("portal:family")
    for problem in form.errors.values():
        messages.error(request, " ".join(problem))
    return redirect("portal:family_member", pk=dependant.pk)
