"""Appointments, payments and vouchers in the admin.

The status is never edited: each transition is a button that calls a service and shows only when
the user may do it now. Doctors see only their own appointments. Staff book on behalf of patients
through the same ``appointment_book`` service the portal uses.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import date, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display
from unfold.enums import ActionVariant
from unfold.widgets import INPUT_CLASSES, UnfoldAdminSelectWidget, UnfoldAdminTextareaWidget

from accounts.admin import PatientProfileAdmin
from accounts.models import PatientProfile, Role
from accounts.services import DuplicatePatient, has_real_email, patient_register
from booking import rules
from booking import services as svc
from booking.admin.filters import DoctorFilter, LocalRangeDateTimeFilter, ModeFilter
from booking.admin.history import appointment_timeline
from booking.admin.pdf import day_schedule_pdf
from booking.admin.resources import AppointmentResource, StaffAppointmentResource
from booking.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    CancelledBy,
    Doctor,
    Payment,
    Slot,
)
from booking.rules import Action
from booking.selectors.scheduling import free_slots, slot_free_q
from booking.slotting import local_day_bounds
from core.admin_actions import ConfirmForm, button, confirm_dialog, find, run_service
from core.admin_exports import RoleExportMixin
from core.audit import audit_log
from core.dates import zone_label
from core.errors import DomainError
from core.money import money_text
from core.paginator import DeferredJoinPaginator

S = AppointmentStatus

STATUS_COLOURS = {
    S.PENDING_PATIENT_CONFIRMATION: "info",
    S.PENDING_PAYMENT: "warning",
    S.PENDING: "warning",
    S.CONFIRMED: "success",
    S.COMPLETED: "success",
    S.CANCELLED: "danger",
    S.NO_SHOW: "danger",
    S.EXPIRED: "info",
}


def _doctor_patients(queryset, user):
    """Doctors see the records of their own patients only (hooked into the patient admin)."""
    return queryset.filter(user__appointments__doctor__user=user).distinct()


PatientProfileAdmin.doctor_patient_scope = staticmethod(_doctor_patients)


def _zone_words() -> str:
    """The viewer's time zone as people say it: "Vietnam time (GMT+7)" (core.dates)."""
    return zone_label(timezone.get_current_timezone_name())


# --- dialog forms ---------------------------------------------------------------------------------


def _appointment_says(text):
    """A button's consequence in words: ``text`` with the patient, doctor, time and amount filled in."""

    def consequence(request, object_id) -> str:
        appointment = find(Appointment.objects.select_related("doctor__user"), object_id)
        if appointment is None:
            return ""
        if appointment.starts_at is not None:
            when = timezone.localtime(appointment.starts_at).strftime("%d/%m/%Y %H:%M")
        else:
            when = str(appointment.suggested_date or "—")
        return text % {
            "patient": appointment.patient_name,
            "doctor": appointment.doctor,
            "when": when,
            "amount": f"{appointment.amount_due:,.0f} {appointment.currency}",
        }

    return consequence


class ReasonForm(ConfirmForm):
    reason = forms.CharField(
        label=_("Reason (shown to the patient)"), widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}), max_length=1000
    )


class NativeDateInput(forms.DateInput):
    """The browser's date picker, bordered like the admin's other inputs."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs={"class": " ".join(INPUT_CLASSES), **(attrs or {})}, format="%Y-%m-%d")


class NativeTimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs={"class": " ".join(INPUT_CLASSES), **(attrs or {})}, format="%H:%M")


class FollowUpForm(ConfirmForm):
    suggested_date = forms.DateField(label=_("Suggested date"), widget=NativeDateInput())
    suggested_time = forms.TimeField(label=_("Suggested time"), required=False, widget=NativeTimeInput())
    appointment_type = forms.ModelChoiceField(
        label=_("Visit type"),
        queryset=AppointmentType.objects.filter(is_active=True),
        required=False,
        widget=UnfoldAdminSelectWidget,
    )
    notes = forms.CharField(
        label=_("Notes for the patient"), widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a link may pre-fill the date (a treatment plan's follow-up step: ?suggested_date=YYYY-MM-DD)
        if not self.is_bound:
            with contextlib.suppress(ValueError):
                self.initial["suggested_date"] = date.fromisoformat(self.request.GET.get("suggested_date", ""))


class RescheduleForm(ConfirmForm):
    new_slot = forms.ModelChoiceField(label=_("New time"), queryset=Slot.objects.none(), widget=UnfoldAdminSelectWidget)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        appointment = find(Appointment.objects.all(), self.object_id)
        if appointment is not None:
            now = timezone.now()
            self.fields["new_slot"].queryset = (
                Slot.objects.filter(
                    slot_free_q(now=now),
                    doctor_id=appointment.doctor_id,
                    start__gt=now,
                    start__lt=now + timedelta(days=90),
                )
                .select_related("doctor__user")
                .order_by("start")
            )
            self.fields["new_slot"].label_from_instance = lambda slot: timezone.localtime(slot.start).strftime(
                "%a %d/%m/%Y %H:%M"
            )


class DayScheduleForm(forms.Form):
    doctor = forms.ModelChoiceField(label=_("Doctor"), queryset=Doctor.objects.none())
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, doctors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = doctors


class StaffBookingForm(forms.Form):
    """Book for a patient at the front desk: a registered patient (found by name, phone or ID) or a new
    one registered on the spot, and a free slot. Rules are the booking services' (``appointment_book``,
    ``patient_register``); this form only parses."""

    patient = forms.ModelChoiceField(
        label=_("Patient"),
        queryset=get_user_model().objects.filter(role="patient", is_active=True),
        required=False,
        widget=forms.HiddenInput,
    )
    new_first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    new_last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    new_phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    new_national_id = forms.CharField(label=_("National ID"), max_length=20, required=False)
    new_email = forms.EmailField(label=_("Email (optional)"), required=False)
    slot = forms.ModelChoiceField(label=_("Time"), queryset=Slot.objects.none(), widget=forms.HiddenInput)
    appointment_type = forms.ModelChoiceField(
        label=_("Visit type"),
        queryset=AppointmentType.objects.filter(is_active=True),
        required=False,
        widget=UnfoldAdminSelectWidget,
    )
    phone = forms.CharField(label=_("Phone for this visit"), max_length=32, required=False)
    reason = forms.CharField(
        label=_("Reason for visit"), widget=UnfoldAdminTextareaWidget(attrs={"rows": 2}), required=False
    )

    NEW_PATIENT_FIELDS = ("new_first_name", "new_last_name", "new_phone", "new_national_id", "new_email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        now = timezone.now()
        self.fields["slot"].queryset = Slot.objects.filter(
            slot_free_q(now=now),
            rules.bookable_doctors_q(prefix="doctor__"),
            start__gt=now,
            start__lt=now + timedelta(days=366),
        ).select_related("doctor__user")

    @property
    def wants_new_patient(self) -> bool:
        return any((self.data.get(name) or "").strip() for name in self.NEW_PATIENT_FIELDS)

    def clean(self):
        data = super().clean()
        if data.get("patient") is None and not self.wants_new_patient and "patient" not in self.errors:
            raise forms.ValidationError(_("Pick a patient, or fill in the new patient's details."))
        return data


def patient_search(query: str, *, limit: int = 10):
    """Active patients whose name, email, phone or national ID contain every word of ``query`` (the
    front desk's lookup); best for two or more characters."""
    people = get_user_model().objects.filter(role="patient", is_active=True).select_related("patient_profile")
    for word in query.split()[:5]:
        people = people.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(patient_profile__phone__icontains=word)
            | Q(patient_profile__national_id__icontains=word)
        )
    return people.order_by("last_name", "first_name", "pk")[:limit]


def _patient_row(user) -> dict:
    profile = getattr(user, "patient_profile", None)
    return {
        "id": user.pk,
        "name": f"{user.last_name} {user.first_name}".strip() or user.email,
        "phone": getattr(profile, "phone", "") or "",
        "national_id": getattr(profile, "national_id", "") or "",
        "email": user.email if has_real_email(user.email) else "",
    }


# --- inlines --------------------------------------------------------------------------------------


class PaymentInline(TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    tab = True
    verbose_name_plural = _("Payments")
    fields = (
        "created_at",
        "gateway",
        "amount",
        "currency",
        "status",
        "refunded_amount",
        "paid_at",
        "provider_reference",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("booking.view_appointment")


# --- appointment admin ----------------------------------------------------------------------------


@admin.register(Appointment)
class AppointmentAdmin(RoleExportMixin, ModelAdmin):
    list_display = ("number", "when", "patient_name_display", "doctor", "status_badge", "amount_display", "mode")
    list_filter = (
        "status",
        ("starts_at", LocalRangeDateTimeFilter),
        "doctor",
        "doctor__specialties",
        "mode",
        "is_follow_up_suggestion",
    )
    list_filter_submit = True
    search_fields = ("last_name", "first_name", "email", "phone", "national_id", "=id")
    list_select_related = ("doctor__user", "patient", "appointment_type")
    ordering = ("-starts_at", "-id")
    show_full_result_count = False
    list_per_page = 50
    paginator = DeferredJoinPaginator
    resource_classes = [AppointmentResource]
    date_hierarchy = None
    inlines = [PaymentInline]
    change_form_template = "admin/booking/appointment/change_form.html"
    readonly_fields = [f.name for f in Appointment._meta.fields if f.name not in {"id"}] + [
        "video_link",
        "price_display",
        "discount_display",
        "follow_up_discount_display",
        "status_badge",
        "status_words",
        "place",
        "follow_ups",
        "account_holder",
    ]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "status_words",
                    "doctor",
                    "patient",
                    "account_holder",
                    "booked_by",
                    "series",
                    "appointment_type",
                    "mode",
                    "place",
                    "starts_at",
                    "ends_at",
                    "video_link",
                )
            },
        ),
        (_("Patient details"), {"fields": ("first_name", "last_name", "phone", "email", "national_id", "reason")}),
        (_("Price"), {"fields": ("price_display", "discount_display", "voucher", "hold_expires_at")}),
        (
            _("Follow-up"),
            {
                "classes": ["tab"],
                "fields": (
                    "is_follow_up_suggestion",
                    "follow_ups",
                    "parent",
                    "suggested_by",
                    "suggested_date",
                    "suggested_time",
                    "follow_up_discount_display",
                    "follow_up_notes",
                ),
            },
        ),
        (
            _("Cancellation"),
            {
                "classes": ["tab"],
                "fields": (
                    "cancelled_at",
                    "cancelled_by",
                    "cancelled_by_user",
                    "cancellation_reason",
                    "cancelled_late",
                ),
            },
        ),
        (_("Video"), {"classes": ["tab"], "fields": ("video_channel", "public_id", "created_at", "updated_at")}),
    )
    # The everyday step of each state stays in sight; the rarer and the destructive ones wait under
    # "More", so the header (breadcrumbs and buttons) fits a 1366-pixel screen.
    actions_detail = [
        "confirm_detail",
        "mark_paid_detail",
        "complete_detail",
        "suggest_follow_up_detail",
        {
            "title": _("More"),
            "icon": "more_horiz",
            "items": [
                "reschedule_detail",
                "no_show_detail",
                "decline_detail",
                "cancel_detail",
                "force_cancel_detail",
                "series_move_following_detail",
                "series_cancel_following_detail",
            ],
        },
    ]
    # Layers above booking add sections to the appointment page without booking importing them:
    # callables ``(request, appointment) -> dict | None`` giving a template and its context (e.g. the
    # visit note from workflows.clinical), as accounts' PatientProfileAdmin.page_sections.
    page_sections: list = []
    change_form_after_template = "admin/booking/appointment_sections.html"

    # --- display ---
    @display(description=_("Video call"))
    def video_link(self, obj):
        # The page itself admits only the visit's doctor and patient (booking.video).
        if obj.pk is None or not rules.is_video_visit(obj):
            return "—"
        url = reverse("portal:video_visit", args=[obj.public_id])
        return format_html('<a class="text-primary-600 underline" href="{}">{}</a>', url, _("Join video"))

    @display(description=_("No."), ordering="id")
    def number(self, obj):
        return f"#{obj.pk}"

    @display(description=_("When"), ordering="starts_at")
    def when(self, obj):
        if obj.starts_at is None:
            return _("suggested for %(date)s") % {"date": obj.suggested_date} if obj.suggested_date else "—"
        return timezone.localtime(obj.starts_at).strftime("%d/%m/%Y %H:%M")

    @display(description=_("Patient"), ordering="last_name")
    def patient_name_display(self, obj):
        return obj.patient_name

    @display(description=_("account holder"))
    def account_holder(self, obj):
        """A family member's visit: the account holder who manages it and receives its messages."""
        guardian = obj.patient.guardian if obj.patient.guardian_id else None
        if guardian is None:
            return "—"
        return _("%(holder)s; the patient is their %(relationship)s") % {
            "holder": guardian,
            "relationship": str(obj.patient.get_relationship_display()).lower(),
        }

    @display(description=_("Status"), ordering="status", label={**STATUS_COLOURS, "declined": "danger"})
    def status_badge(self, obj):
        if obj.status == S.CANCELLED and obj.is_follow_up_suggestion and obj.cancelled_by == CancelledBy.PATIENT:
            # the patient said no to a suggestion: not a visit that was cancelled
            return "declined", _("Declined by the patient")
        return obj.status, obj.get_status_display()

    @display(description=_("Status"))
    def status_words(self, obj):
        """The state in words on the visit's page ("Declined by the patient" for a refused suggestion)."""
        return self.status_badge(obj)[1]

    @display(description=_("Place"))
    def place(self, obj):
        facility = obj.facility
        if facility is None:
            return "—"
        room = obj.room
        parts = [facility.name, ", ".join(p for p in (facility.address, facility.district, facility.city) if p)]
        if room is not None:
            parts.append(str(_("room %(name)s") % {"name": room.name}))
        return " · ".join(p for p in parts if p)

    @display(description=_("Follow-ups"))
    def follow_ups(self, obj):
        """The follow-ups suggested from this visit, each with its state, linked to its page."""
        children = list(
            Appointment.objects.filter(parent=obj, is_follow_up_suggestion=True).order_by("created_at", "pk")
        )
        if not children:
            return "—"
        items = []
        for child in children:
            _code, words = self.status_badge(child)
            when = formats.date_format(child.suggested_date, "DATE_FORMAT") if child.suggested_date else _("no date")
            items.append(
                format_html(
                    '<li><a class="text-primary-600 underline" href="{}">#{} · {}</a> · {}</li>',
                    reverse("admin:booking_appointment_change", args=[child.pk]),
                    child.pk,
                    when,
                    words,
                )
            )
        return format_html('<ul class="flex flex-col gap-1">{}</ul>', format_html_join("", "{}", ((i,) for i in items)))

    @display(description=_("Amount"))
    def amount_display(self, obj):
        return money_text(obj.amount_due, obj.currency)

    @display(description=_("price"))
    def price_display(self, obj):
        return money_text(obj.price, obj.currency)

    @display(description=_("discount"))
    def discount_display(self, obj):
        return money_text(obj.discount, obj.currency)

    @display(description=_("Follow-up discount"))
    def follow_up_discount_display(self, obj):
        return f"{formats.number_format(obj.follow_up_discount_percent.normalize())} %"

    def get_fieldsets(self, request, obj=None):
        """Only the sections that say something about this visit: the follow-up part for a follow-up,
        the cancellation for a cancelled visit, the hold while it runs, the technical ids for admins."""
        fieldsets = []
        for name, options in super().get_fieldsets(request, obj):
            fields = tuple(options["fields"])
            if obj is not None:
                has_follow_ups = Appointment.objects.filter(parent=obj).exists()
                if name == _("Follow-up") and not (obj.is_follow_up_suggestion or has_follow_ups):
                    continue
                if name == _("Cancellation") and obj.status != S.CANCELLED:
                    continue
                if name == _("Video") and request.user.role != Role.ADMIN:
                    continue
                if obj.status != S.PENDING_PAYMENT:
                    fields = tuple(f for f in fields if f != "hold_expires_at")
                if not rules.is_video_visit(obj):
                    fields = tuple(f for f in fields if f != "video_link")
                if obj.facility is None:
                    fields = tuple(f for f in fields if f != "place")
                if not obj.patient.guardian_id:
                    fields = tuple(f for f in fields if f != "account_holder")
                if not obj.booked_by_id:
                    fields = tuple(f for f in fields if f != "booked_by")
                if name == _("Follow-up"):
                    hide = {"is_follow_up_suggestion"} | (
                        {"follow_ups"}
                        if obj.is_follow_up_suggestion
                        else {
                            "parent",
                            "suggested_by",
                            "suggested_date",
                            "suggested_time",
                            "follow_up_discount_display",
                            "follow_up_notes",
                        }
                    )
                    fields = tuple(f for f in fields if f not in hide)
            fieldsets.append((name, {**options, "fields": fields}))
        return fieldsets

    # --- scope and permissions ---
    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.role == "doctor":
            return qs.filter(doctor__user=request.user)
        return qs

    def has_add_permission(self, request):
        return request.user.role in {"staff", "admin"} and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # nothing is deleted: cancelled, expired and no-show visits are kept

    def get_list_filter(self, request):
        filters = self.list_filter
        if request.user.role == "doctor":
            filters = tuple(f for f in filters if f not in {"doctor", "doctor__specialties"})
        replace = {"doctor": ("doctor", DoctorFilter), "mode": ModeFilter}
        return tuple(replace.get(f, f) if isinstance(f, str) else f for f in filters)

    def get_export_resource_classes(self, request):
        # Only people who may read medical records get the reason for the visit.
        if request.user.has_perm("accounts.view_medicalrecord"):
            return [AppointmentResource]
        return [StaffAppointmentResource]

    def lookup_allowed(self, lookup, value, request=None):
        # the patient page links to "all appointments of this patient"
        if lookup in {"patient__id__exact", "patient__id"}:
            return True
        return super().lookup_allowed(lookup, value, request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        appointment = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if appointment is not None:
            extra_context["timeline"] = appointment_timeline(appointment)
            extra_context["viewer_zone"] = _zone_words()
            extra_context["appointment_sections"] = [
                section for provide in self.page_sections if (section := provide(request, appointment)) is not None
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def _get(self, request, object_id) -> Appointment:
        appointment = self.get_object(request, object_id)
        if appointment is None:
            raise Http404
        return appointment

    def _allowed(self, request, object_id) -> frozenset:
        """What ``request.user`` may do to this appointment now (booking.rules), once per request."""
        if object_id is None:
            return frozenset()
        cache = request.__dict__.setdefault("_medbook_appointment_actions", {})
        if object_id not in cache:
            appointment = self.get_object(request, object_id)  # None for a foreign or malformed id
            if appointment is None:
                raise Http404  # someone else's appointment: as if it did not exist
            allowed = frozenset()
            if request.user.has_perm("booking.change_appointment"):
                allowed = rules.available_actions(appointment=appointment, user=request.user, now=timezone.now())
            cache[object_id] = allowed
        return cache[object_id]

    def has_confirm_detail_permission(self, request, object_id=None):
        return Action.CONFIRM in self._allowed(request, object_id)

    def has_decline_detail_permission(self, request, object_id=None):
        return Action.DECLINE in self._allowed(request, object_id)

    def has_mark_paid_detail_permission(self, request, object_id=None):
        return Action.MARK_PAID in self._allowed(request, object_id)

    def has_complete_detail_permission(self, request, object_id=None):
        return Action.COMPLETE in self._allowed(request, object_id)

    def has_no_show_detail_permission(self, request, object_id=None):
        return Action.NO_SHOW in self._allowed(request, object_id)

    def has_reschedule_detail_permission(self, request, object_id=None):
        return Action.RESCHEDULE in self._allowed(request, object_id)

    def has_cancel_detail_permission(self, request, object_id=None):
        return Action.CANCEL in self._allowed(request, object_id)

    def has_force_cancel_detail_permission(self, request, object_id=None):
        return Action.FORCE_CANCEL in self._allowed(request, object_id)

    def has_suggest_follow_up_detail_permission(self, request, object_id=None):
        return Action.SUGGEST_FOLLOW_UP in self._allowed(request, object_id)

    def _in_series(self, request, object_id) -> bool:
        appointment = self.get_object(request, object_id) if object_id is not None else None
        return appointment is not None and appointment.series_id is not None

    def has_series_move_following_detail_permission(self, request, object_id=None):
        return Action.RESCHEDULE in self._allowed(request, object_id) and self._in_series(request, object_id)

    def has_series_cancel_following_detail_permission(self, request, object_id=None):
        allowed = self._allowed(request, object_id)
        return bool({Action.CANCEL, Action.FORCE_CANCEL} & allowed) and self._in_series(request, object_id)

    # --- running a service and reporting ---
    def _run(self, request, object_id, work, success):
        appointment = self._get(request, object_id)
        back = reverse("admin:booking_appointment_change", args=[appointment.pk])
        return run_service(request, lambda: work(appointment), success, back=back)

    @button(
        description=_("Confirm"),
        permissions=["confirm_detail"],
        icon="check_circle",
        variant=ActionVariant.SUCCESS,
        dialog=confirm_dialog(
            title=_("Confirm this visit"),
            submit=_("Confirm"),
            consequence=_appointment_says(
                _("%(patient)s's visit with %(doctor)s on %(when)s is confirmed; the patient is told.")
            ),
        ),
    )
    def confirm_detail(self, request, form, object_id):
        return self._run(
            request,
            object_id,
            lambda a: svc.appointment_confirm(appointment=a, actor=request.user),
            _("Appointment confirmed."),
        )

    @button(
        # short: the header's buttons share a 1366-pixel line with the breadcrumbs (the dialog says more)
        description=_("Paid at the desk"),
        permissions=["mark_paid_detail"],
        icon="payments",
        dialog=confirm_dialog(
            title=_("Record a payment at the desk"),
            submit=_("Record payment"),
            consequence=_appointment_says(
                _(
                    "%(patient)s paid %(amount)s at the desk for the visit with %(doctor)s on %(when)s. "
                    "The visit is then confirmed, or waits for the doctor if they review requests."
                )
            ),
        ),
    )
    def mark_paid_detail(self, request, form, object_id):
        return self._run(
            request,
            object_id,
            lambda a: svc.payment_mark_cash_paid(appointment=a, actor=request.user),
            _("Payment recorded."),
        )

    @button(
        description=_("Complete"),
        permissions=["complete_detail"],
        icon="task_alt",
        dialog=confirm_dialog(
            title=_("Complete this visit"),
            submit=_("Complete"),
            consequence=_appointment_says(_("%(patient)s's visit with %(doctor)s on %(when)s is closed as completed.")),
        ),
    )
    def complete_detail(self, request, form, object_id):
        return self._run(
            request,
            object_id,
            lambda a: svc.appointment_complete(appointment=a, actor=request.user),
            _("Visit completed."),
        )

    @button(
        description=_("No-show"),
        permissions=["no_show_detail"],
        icon="person_off",
        variant=ActionVariant.WARNING,
        dialog=confirm_dialog(
            title=_("Record a no-show"),
            submit=_("Record no-show"),
            consequence=_appointment_says(
                _(
                    "%(patient)s did not come to the visit with %(doctor)s on %(when)s. The visit is closed "
                    "as a no-show, nothing is refunded, and the patient is told. This cannot be undone."
                )
            ),
        ),
    )
    def no_show_detail(self, request, form, object_id):
        return self._run(
            request,
            object_id,
            lambda a: svc.appointment_mark_no_show(appointment=a, actor=request.user),
            _("No-show recorded."),
        )

    @button(
        description=_("Reschedule"),
        permissions=["reschedule_detail"],
        icon="event_repeat",
        dialog=confirm_dialog(
            title=_("Move to another time"),
            submit=_("Move"),
            form_class=RescheduleForm,
            consequence=_appointment_says(
                _("%(patient)s's visit with %(doctor)s on %(when)s moves to the time you pick; the patient is told.")
            ),
        ),
    )
    def reschedule_detail(self, request, form, object_id):
        return self._run(
            request,
            object_id,
            lambda a: svc.appointment_reschedule(
                appointment=a, new_slot=form.cleaned_data["new_slot"], actor=request.user
            ),
            _("Appointment moved."),
        )

    @button(
        description=_("Decline"),
        permissions=["decline_detail"],
        icon="block",
        variant=ActionVariant.DANGER,
        dialog=confirm_dialog(
            title=_("Decline this request"),
            submit=_("Decline"),
            form_class=ReasonForm,
            consequence=_appointment_says(
                _(
                    "%(patient)s's request for a visit with %(doctor)s on %(when)s is declined: the time is "
                    "freed, %(amount)s is refunded in full, and the patient receives your reason. "
                    "This cannot be undone."
                )
            ),
        ),
    )
    def decline_detail(self, request, form, object_id):
        return self._run(
            request,
            object_id,
            lambda a: svc.appointment_decline(appointment=a, actor=request.user, reason=form.cleaned_data["reason"]),
            _("Request declined; the payment is refunded."),
        )

    @button(
        description=_("Cancel"),
        permissions=["cancel_detail"],
        icon="cancel",
        variant=ActionVariant.DANGER,
        dialog=confirm_dialog(
            title=_("Cancel this appointment"),
            submit=_("Cancel appointment"),
            form_class=ReasonForm,
            consequence=_appointment_says(
                _(
                    "%(patient)s's visit with %(doctor)s on %(when)s is cancelled: the time is freed, what "
                    "was paid is refunded in full, and the patient receives your reason. This cannot be undone."
                )
            ),
        ),
    )
    def cancel_detail(self, request, form, object_id):
        return self._run(
            request,
            object_id,
            lambda a: svc.appointment_cancel(appointment=a, actor=request.user, reason=form.cleaned_data["reason"]),
            _("Appointment cancelled."),
        )

    @button(
        description=_("Force cancel"),
        permissions=["force_cancel_detail"],
        icon="cancel",
        variant=ActionVariant.DANGER,
        dialog=confirm_dialog(
            title=_("Force-cancel this appointment"),
            submit=_("Cancel appointment"),
            form_class=ReasonForm,
            consequence=_appointment_says(
                _(
                    "%(patient)s's visit with %(doctor)s on %(when)s is cancelled by the clinic whatever its "
                    "state: the time is freed, what was paid is refunded, and the patient receives your reason. "
                    "This cannot be undone."
                )
            ),
        ),
    )
    def force_cancel_detail(self, request, form, object_id):
        return self._run(
            request,
            object_id,
            lambda a: svc.appointment_cancel(
                appointment=a, actor=request.user, reason=form.cleaned_data["reason"], force=True
            ),
            _("Appointment cancelled."),
        )

    @button(
        description=_("Suggest follow-up"),
        permissions=["suggest_follow_up_detail"],
        icon="event_upcoming",
        variant=ActionVariant.PRIMARY,
        dialog=confirm_dialog(
            title=_("Suggest a follow-up visit"),
            description=_("The patient chooses the final time and gets the follow-up discount."),
            submit=_("Send suggestion"),
            form_class=FollowUpForm,
        ),
    )
    def suggest_follow_up_detail(self, request, form, object_id):
        def work(appointment):
            svc.follow_up_suggest(
                doctor_user=request.user,
                patient=appointment.patient,
                parent=appointment,
                suggested_date=form.cleaned_data["suggested_date"],
                suggested_time=form.cleaned_data["suggested_time"],
                appointment_type=form.cleaned_data["appointment_type"],
                notes=form.cleaned_data["notes"],
            )

        return self._run(request, object_id, work, _("Follow-up suggested to the patient."))

    # --- a visit of a series: this and following ---
    @button(
        description=_("Move this and following"),
        permissions=["series_move_following_detail"],
        icon="event_repeat",
        dialog=confirm_dialog(
            title=_("Move this visit and the following ones"),
            submit=_("Move visits"),
            form_class=RescheduleForm,
            consequence=_appointment_says(
                _(
                    "%(patient)s's visit with %(doctor)s on %(when)s moves to the time you pick, and every "
                    "later open visit of the series moves by the same shift. If one of those times is not "
                    "free, nothing moves."
                )
            ),
        ),
    )
    def series_move_following_detail(self, request, form, object_id):
        return self._run(
            request,
            object_id,
            lambda a: svc.series_reschedule(
                appointment=a, new_slot=form.cleaned_data["new_slot"], actor=request.user, following=True
            ),
            _("This visit and the following ones were moved."),
        )

    @button(
        description=_("Cancel this and following"),
        permissions=["series_cancel_following_detail"],
        icon="event_busy",
        variant=ActionVariant.DANGER,
        dialog=confirm_dialog(
            title=_("Cancel this visit and the following ones"),
            submit=_("Cancel visits"),
            form_class=ReasonForm,
            consequence=_appointment_says(
                _(
                    "%(patient)s's visit with %(doctor)s on %(when)s and every later open visit of the "
                    "series are cancelled: the times are freed and the patient receives your reason. "
                    "Earlier visits stay booked. This cannot be undone."
                )
            ),
        ),
    )
    def series_cancel_following_detail(self, request, form, object_id):
        return self._run(
            request,
            object_id,
            lambda a: svc.series_cancel(
                appointment=a, actor=request.user, reason=form.cleaned_data["reason"], following=True
            ),
            _("This visit and the following ones were cancelled."),
        )

    # --- staff booking on behalf of a patient ---
    def get_urls(self):
        return [
            path("book/", self.admin_site.admin_view(self.book_view), name="booking_appointment_book"),
            path(
                "book/patients/",
                self.admin_site.admin_view(self.book_patients_view),
                name="booking_appointment_book_patients",
            ),
            path(
                "day-schedule.pdf",
                self.admin_site.admin_view(self.day_schedule_pdf_view),
                name="booking_appointment_day_schedule_pdf",
            ),
            path("exports/", self.admin_site.admin_view(self.exports_view), name="booking_exports"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:booking_appointment_book"))

    def book_view(self, request):
        """Book for a patient like a receptionist: find the patient (or register a new one), pick the
        doctor and the day, click a free time. ``?slot=`` (from the week grid) pre-picks the time,
        ``?patient=`` the patient; ``?doctor=&date=`` choose the day shown."""
        if not self.has_add_permission(request):
            raise Http404
        form = StaffBookingForm(request.POST or None, initial={"patient": request.GET.get("patient", "")})
        if request.method == "POST" and form.is_valid():
            appointment = self._book_from(request, form)
            if appointment is not None:
                messages.success(
                    request,
                    _("Booked for %(patient)s. The slot is held until payment; record cash with “Mark paid”.")
                    % {"patient": appointment.patient_name},
                )
                return redirect(reverse("admin:booking_appointment_change", args=[appointment.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Book for a patient"),
            "opts": self.opts,
            "form": form,
            **self._book_page(request, form),
        }
        return TemplateResponse(request, "admin/booking/appointment/book.html", context)

    def _book_from(self, request, form) -> Appointment | None:
        """Register the new patient if there is one, then book through ``appointment_book``; a domain
        error becomes a form error (None returned)."""
        data = form.cleaned_data
        patient = data["patient"]
        if patient is None:
            try:
                patient = patient_register(
                    actor=request.user,
                    first_name=data["new_first_name"],
                    last_name=data["new_last_name"],
                    phone=data["new_phone"],
                    national_id=data["new_national_id"],
                    email=data["new_email"] or "",
                )
            except DuplicatePatient as exc:
                names = ", ".join(str(_patient_row(d.profile.user)["name"]) for d in exc.duplicates)
                form.add_error(
                    None, _("Already registered: %(names)s. Find them in the search above.") % {"names": names}
                )
                return None
            except DomainError as exc:
                for name, problem in (getattr(exc, "fields", None) or {}).items():
                    if f"new_{name}" in form.fields:
                        form.add_error(f"new_{name}", problem)
                form.add_error(None, str(exc))
                return None
            # from here on the form names the registered patient (a failed booking keeps them picked)
            form.data = form.data.copy()
            form.data["patient"] = str(patient.pk)
            for name in form.NEW_PATIENT_FIELDS:
                form.data[name] = ""
        details = svc.BookingDetails.from_patient(patient, reason=data["reason"])
        if data["phone"]:
            details = replace(details, phone=data["phone"])
        try:
            return svc.appointment_book(
                slot=data["slot"],
                patient=patient,
                actor=request.user,
                details=details,
                appointment_type=data["appointment_type"],
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
            return None

    def _book_page(self, request, form) -> dict:
        """What the booking page shows around the form: the chosen patient, the doctors, the day and its
        free times as a grid."""
        source = request.POST if request.method == "POST" else request.GET
        doctors = list(Doctor.objects.filter(rules.bookable_doctors_q()).select_related("user").order_by("pk"))
        chosen_slot = find(form.fields["slot"].queryset, source.get("slot")) if source.get("slot") else None
        doctor = None
        if chosen_slot is not None:
            doctor = next((d for d in doctors if d.pk == chosen_slot.doctor_id), None)
        if doctor is None and source.get("doctor"):
            doctor = next((d for d in doctors if str(d.pk) == source.get("doctor")), None)
        doctor = doctor or (doctors[0] if doctors else None)
        day = None
        if doctor is not None:
            today = timezone.localtime(timezone.now(), doctor.zone).date()
            if chosen_slot is not None:
                day = timezone.localtime(chosen_slot.start, doctor.zone).date()
            else:
                with contextlib.suppress(ValueError):
                    day = date.fromisoformat(source.get("date", ""))
            day = max(day or today, today)
        times = []
        if doctor is not None:
            start, end = local_day_bounds(day, doctor.zone)
            times = [
                {"slot": slot, "local": timezone.localtime(slot.start, doctor.zone)}
                for slot in free_slots(doctor=doctor, start=start, end=end)
            ]
        patient = None
        wanted = source.get("patient")
        if wanted:
            patient = find(form.fields["patient"].queryset.select_related("patient_profile"), wanted)

        def day_link(other):
            return "?" + urlencode(
                {k: v for k, v in {"doctor": doctor.pk, "date": other.isoformat(), "patient": wanted}.items() if v}
            )

        return {
            "doctors": doctors,
            "doctor": doctor,
            "day": day,
            "times": times,
            "chosen_slot": chosen_slot,
            "chosen_patient": _patient_row(patient) if patient else None,
            "previous_day_url": day_link(day - timedelta(days=1)) if day and day > timezone.localdate() else "",
            "next_day_url": day_link(day + timedelta(days=1)) if day else "",
            "search_url": reverse("admin:booking_appointment_book_patients"),
            "new_patient_open": form.is_bound and form.wants_new_patient,
        }

    def book_patients_view(self, request):
        """The patient lookup of the booking page: ``?q=`` → up to ten patients as JSON (name, phone,
        national ID, email). Front desk only; nothing changes."""
        if not self.has_add_permission(request):
            raise Http404
        query = request.GET.get("q", "").strip()
        rows = [_patient_row(user) for user in patient_search(query)] if len(query) >= 2 else []
        return JsonResponse({"patients": rows})

    # --- printouts and exports ---
    def _visible_doctors(self, request):
        doctors = Doctor.objects.select_related("user").order_by("user__last_name", "user__first_name", "pk")
        if request.user.role == Role.DOCTOR:
            return doctors.filter(user=request.user)
        return doctors

    def day_schedule_pdf_view(self, request):
        """``?doctor=<id>&date=YYYY-MM-DD``: a doctor may print only their own day (another doctor's
        answers 404)."""
        if not self.has_view_permission(request):
            raise DjangoPermissionDenied
        form = DayScheduleForm(request.GET or None, doctors=self._visible_doctors(request))
        if request.user.role == Role.DOCTOR and "doctor" not in request.GET:
            own = self._visible_doctors(request).first()
            form = DayScheduleForm(
                {"doctor": own.pk if own else "", "date": request.GET.get("date", "")},
                doctors=self._visible_doctors(request),
            )
        if not form.is_valid():
            if "doctor" in form.errors and request.GET.get("doctor"):
                raise Http404
            return redirect(reverse("admin:booking_exports"))
        doctor, day = form.cleaned_data["doctor"], form.cleaned_data["date"]
        content = day_schedule_pdf(doctor=doctor, day=day)
        audit_log(
            actor=request.user,
            action="booking.day_schedule.printed",
            obj=doctor,
            data={"date": day.isoformat()},
        )
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="schedule-{doctor.pk}-{day.isoformat()}.pdf"'
        return response

    def exports_view(self, request):
        """One page listing the exports a role may download and the day-schedule printout."""
        if not self.has_view_permission(request):
            raise DjangoPermissionDenied
        user = request.user
        links = []
        for model_admin, title, perm in (
            (self, _("Appointments"), "booking.view_appointment"),
            (admin.site._registry.get(Payment), _("Payments"), "booking.view_payment"),
            (admin.site._registry.get(PatientProfile), _("Patients (contact data)"), "accounts.view_patientprofile"),
            (admin.site._registry.get(Doctor), _("Doctors"), "booking.view_doctor"),
        ):
            if model_admin is not None and user.has_perm(perm):
                opts = model_admin.opts
                links.append(
                    {
                        "title": title,
                        "list": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
                        "export": reverse(f"admin:{opts.app_label}_{opts.model_name}_export"),
                    }
                )
        today = timezone.localdate()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Exports"),
            "opts": self.opts,
            "links": links,
            "form": DayScheduleForm(initial={"date": today}, doctors=self._visible_doctors(request)),
            "pdf_url": reverse("admin:booking_appointment_day_schedule_pdf"),
        }
        return TemplateResponse(request, "admin/booking/exports.html", context)
