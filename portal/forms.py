from __future__ import annotations

import re
from functools import lru_cache
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import Gender, MedicalRecord
from core.dates import canonical_zone, zone_choices


def add_visit_for_field(form, *, family, holder) -> None:
    """The form's first field ``patient``, "Who is this visit for?": the account holder ("Me", the
    default) or one of the family members they manage (booking and the waitlist ask it alike)."""
    me = _("Me (%(name)s)") % {"name": holder.get_full_name() or holder.email} if holder else _("Me")
    form.fields["patient"] = forms.ChoiceField(
        label=_("Who is this visit for?"),
        choices=[("", me), *((str(member.pk), member.get_full_name()) for member in family)],
        required=False,
        initial="",  # "Me" until they choose
        widget=forms.RadioSelect(attrs={"class": "visit-for-choice"}),
    )
    form.order_fields(["patient"])


class BookingDetailsForm(forms.Form):
    """The patient's details for one booking, pre-filled from their profile."""

    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    phone = forms.CharField(label=_("Phone"), max_length=32)
    national_id = forms.CharField(label=_("National ID (CCCD)"), max_length=32, required=False)
    email = forms.EmailField(label=_("Email"))
    reason = forms.CharField(
        label=_("Reason for the visit"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False
    )
    appointment_type = forms.ChoiceField(label=_("Visit type"), required=False)

    def __init__(self, *args, appointment_types=(), family=(), holder=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(t.pk), t.label) for t in appointment_types]
        if choices:
            self.fields["appointment_type"].choices = choices
        else:
            del self.fields["appointment_type"]
        if family:
            add_visit_for_field(self, family=family, holder=holder)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000, required=False
    )


class VoucherForm(forms.Form):
    code = forms.CharField(label=_("Voucher code"), max_length=40)


def time_zone_datalist() -> str:
    """``<datalist id="time-zones">`` of every zone a person may pick, each place once, with its
    friendly name and offset ("Vietnam time (GMT+7)"), in the active language."""
    return _time_zone_datalist(get_language(), timezone.now().date())


@lru_cache(maxsize=8)
def _time_zone_datalist(language: str, today) -> str:
    # built once per language and day (offsets change with daylight saving time): a 600-option
    # <select> rendered through Django's widget templates costs ~70 ms per page
    return format_html(
        '<datalist id="time-zones">{}</datalist>',
        format_html_join("", '<option value="{}" label="{}">', zone_choices()),
    )


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    national_id = forms.CharField(label=_("National ID (CCCD)"), max_length=32, required=False)
    date_of_birth = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", "—"), *Gender.choices], required=False)
    address = forms.CharField(label=_("Address"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    health_insurance_number = forms.CharField(label=_("Health insurance number (BHYT)"), max_length=20, required=False)
    emergency_contact_name = forms.CharField(label=_("Emergency contact"), max_length=150, required=False)
    emergency_contact_phone = forms.CharField(label=_("Emergency contact phone"), max_length=32, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
        help_text=_("For example Asia/Ho_Chi_Minh or Europe/Paris."),
    )
    email_notifications = forms.BooleanField(label=_("Email me about my appointments"), required=False)
    sms_notifications = forms.BooleanField(label=_("Text me (SMS) about my appointments"), required=False)

    def clean_health_insurance_number(self) -> str:
        number = self.cleaned_data["health_insurance_number"].replace(" ", "").upper()
        if number and not re.fullmatch(r"[A-Z]{2}\d{13}", number):
            raise forms.ValidationError(_("A BHYT number is 2 letters and 13 digits, e.g. DN4797915123456."))
        return number

    def clean_time_zone(self) -> str:
        name = canonical_zone(self.cleaned_data["time_zone"].strip())
        if name not in available_timezones():
            raise forms.ValidationError(_("Choose a time zone from the list, for example Asia/Ho_Chi_Minh."))
        return name


class MedicalRecordForm(forms.ModelForm):
    class Meta:
        model = MedicalRecord
        fields = ("allergies", "chronic_conditions", "medications")
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in fields}


SCORE_WORDS = [
    (5, _("Excellent")),
    (4, _("Good")),
    (3, _("Fair")),
    (2, _("Poor")),
    (1, _("Very poor")),
]


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Your rating"),
        # a bare "5 … 1" does not say which end is good
        choices=[(n, format_lazy("{} – {}", n, word)) for n, word in SCORE_WORDS],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        help_text=_("Read by the clinic before it is published, without your name."),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
    )


class WaitlistForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
    part_of_day = forms.ChoiceField(label=_("Part of the day"))
    mode = forms.ChoiceField(label=_("Visit"), required=False)  # left out: in person or video

    def __init__(self, *args, family=(), holder=None, **kwargs):
        from workflows.operations.models import PartOfDay, WaitlistMode

        super().__init__(*args, **kwargs)
        self.fields["part_of_day"].choices = PartOfDay.choices
        self.fields["mode"].choices = WaitlistMode.choices
        if family:
            add_visit_for_field(self, family=family, holder=holder)

    def clean_mode(self) -> str:
        from workflows.operations.models import WaitlistMode

        return self.cleaned_data.get("mode") or WaitlistMode.EITHER
