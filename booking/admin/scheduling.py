"""Scheduling in the admin: doctors, availability (with a slot preview), a week view, a weekly-pattern
generator, blocked time, and the clinic's booking policy.

The doctor workspace: a user with the doctor role sees and edits only their own doctor profile,
availability, slots and blocked time; staff and clinic admins see every doctor. Every write goes
through ``booking.services``; a ``DomainError`` becomes a form error or a message, never a 500.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.admin import ModelAdmin
from unfold.decorators import action, display
from unfold.forms import AdminForm
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminSingleDateWidget,
    UnfoldAdminSingleTimeWidget,
)

from accounts.models import Role, User
from booking.admin.resources import DoctorResource
from booking.models import (
    SLOT_OCCUPYING,
    Appointment,
    AppointmentType,
    Availability,
    BlockedTime,
    BookingDefaults,
    Doctor,
    Facility,
    Room,
    Slot,
    SlotStatus,
    Specialty,
)
from booking.selectors import doctor_for_user
from booking.selectors import week_view as week_view_selector
from booking.services import (
    MAX_WEEKLY_DAYS,
    availability_create,
    availability_delete,
    availability_generate_weekly,
    availability_preview,
    availability_update,
    blocked_time_create,
    blocked_time_delete,
)
from core.admin_actions import ReadOnlyAdminMixin
from core.admin_exports import RoleExportMixin
from core.audit import audit_log
from core.errors import DomainError, InvalidInput

WEEKDAY_CHOICES = [
    (0, gettext_lazy("Monday")),
    (1, gettext_lazy("Tuesday")),
    (2, gettext_lazy("Wednesday")),
    (3, gettext_lazy("Thursday")),
    (4, gettext_lazy("Friday")),
    (5, gettext_lazy("Saturday")),
    (6, gettext_lazy("Sunday")),
]


# --- who is looking ----------------------------------------------------------------------------


def is_doctor_user(request) -> bool:
    return request.user.is_authenticated and request.user.role == Role.DOCTOR


def own_doctor(request) -> Doctor | None:
    """The doctor profile of a doctor-role user (cached on the request); ``None`` for everyone else."""
    if not hasattr(request, "_medbook_own_doctor"):
        doctor = None
        if is_doctor_user(request):
            doctor = doctor_for_user(request.user)
        request._medbook_own_doctor = doctor
    return request._medbook_own_doctor


def visible_doctors(request):
    """Doctors this user may work with in the admin: a doctor only themself, staff and admins all."""
    doctors = Doctor.objects.select_related("user").order_by("user__last_name", "user__first_name", "pk")
    if is_doctor_user(request):
        doctor = own_doctor(request)
        return doctors.filter(pk=doctor.pk) if doctor else doctors.none()
    return doctors


def _copy_saved(source, target) -> None:
    """Make the admin's in-memory ``target`` match the row a service saved as ``source``."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


# --- shared admin behaviour --------------------------------------------------------------------


class AuditedModelAdmin(ModelAdmin):
    """Configuration models saved by the admin itself: every change still leaves an audit entry."""

    audit_name = ""

    def _audit_code(self, verb: str) -> str:
        return f"booking.{self.audit_name or self.opts.model_name}.{verb}"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_log(
            actor=request.user,
            action=self._audit_code("changed" if change else "created"),
            obj=obj,
            data={"fields": sorted(form.changed_data)},
        )

    def delete_model(self, request, obj):
        audit_log(actor=request.user, action=self._audit_code("deleted"), obj=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_log(actor=request.user, action=self._audit_code("deleted"), obj=obj)
        super().delete_queryset(request, queryset)


class DoctorScopedAdmin(ModelAdmin):
    """Rows that belong to one doctor: a doctor sees only their own and cannot pick another doctor."""

    doctor_lookup = "doctor"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if is_doctor_user(request):
            doctor = own_doctor(request)
            return qs.filter(**{self.doctor_lookup: doctor}) if doctor else qs.none()
        return qs

    def has_add_permission(self, request):
        if is_doctor_user(request) and own_doctor(request) is None:
            return False  # a doctor account without a doctor profile has nothing to schedule
        return super().has_add_permission(request)

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if is_doctor_user(request) and "doctor" in fields:
            fields.remove("doctor")
        return fields

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if is_doctor_user(request):
            filters = [f for f in filters if f != "doctor"]
        return filters

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if is_doctor_user(request):
            columns = [c for c in columns if c != "doctor"]
        return columns

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "doctor":
            kwargs["queryset"] = visible_doctors(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def doctor_for(self, request, form, obj) -> Doctor:
        """The doctor a new row belongs to: always the doctor themself for doctor users."""
        if is_doctor_user(request):
            doctor = own_doctor(request)
            if doctor is None:
                raise PermissionDenied
            return doctor
        return form.cleaned_data.get("doctor") or obj.doctor


class ServiceFormAdmin(ModelAdmin):
    """A change form whose save calls a service: a ``DomainError`` the service raises is shown on the
    re-rendered form (with what the person typed) instead of a 500."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            return self.render_bound_form(request, object_id, form_url, extra_context, error=exc)

    def render_bound_form(self, request, object_id, form_url="", extra_context=None, *, error=None):
        """Render the add/change form bound to the POSTed data, validated but not saved."""
        add = object_id is None
        if add:
            obj = None
            if not self.has_add_permission(request):
                raise PermissionDenied
        else:
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
        subtitle = str(obj) if obj else None
        fieldsets = self.get_fieldsets(request, obj)
        form_class = self.get_form(request, obj, change=not add, fields=flatten_fieldsets(fieldsets))
        form = form_class(request.POST, request.FILES, instance=obj)
        form.is_valid()
        if error is not None:
            form.add_error(None, str(error))
        admin_form = AdminForm(
            form,
            list(fieldsets),
            self.get_prepopulated_fields(request, obj),
            self.get_readonly_fields(request, obj),
            model_admin=self,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": (_("Add %s") if add else _("Change %s")) % self.opts.verbose_name,
            "subtitle": subtitle,
            "adminform": admin_form,
            "object_id": object_id,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=add, change=not add, obj=obj, form_url=form_url)


# --- configuration -----------------------------------------------------------------------------


@admin.register(Specialty)
class SpecialtyAdmin(AuditedModelAdmin):
    list_display = ("name", "slug", "is_active", "doctor_count")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(doctor_total=Count("doctors"))

    @display(description=gettext_lazy("doctors"), ordering="doctor_total")
    def doctor_count(self, obj):
        return obj.doctor_total


@admin.register(AppointmentType)
class AppointmentTypeAdmin(AuditedModelAdmin):
    audit_name = "appointment_type"
    list_display = ("name", "kind", "duration_minutes", "price", "mode", "is_active")
    list_filter = ("kind", "mode", "is_active")
    search_fields = ("name",)


@admin.register(BookingDefaults)
class BookingDefaultsAdmin(AuditedModelAdmin):
    """The clinic's one booking policy row: opened directly, never added twice, never deleted."""

    audit_name = "booking_defaults"
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not BookingDefaults.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        obj = BookingDefaults.objects.first()
        if obj is not None:
            return HttpResponseRedirect(reverse("admin:booking_bookingdefaults_change", args=[obj.pk]))
        if self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:booking_bookingdefaults_add"))
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        obj.pk = 1  # the singleton row (a check constraint insists)
        super().save_model(request, obj, form, change)


# --- doctors -----------------------------------------------------------------------------------


@admin.register(Doctor)
class DoctorAdmin(RoleExportMixin, AuditedModelAdmin):
    list_display = ("__str__", "email", "specialty_list", "time_zone", "consultation_fee", "currency", "is_active")
    list_filter = ("is_active", "specialties", "time_zone")
    search_fields = ("user__first_name", "user__last_name", "user__email", "title")
    list_select_related = ("user",)
    filter_horizontal = ("specialties",)
    readonly_fields = ("created_at", "updated_at")
    resource_classes = [DoctorResource]
    fieldsets = (
        (None, {"fields": ("user", "title", "specialties", "bio", "photo", "languages", "years_of_experience")}),
        (
            gettext_lazy("Booking"),
            {"fields": ("consultation_fee", "currency", "time_zone", "auto_confirm", "is_active")},
        ),
        (
            gettext_lazy("Booking policy (empty: the clinic default)"),
            {"fields": ("min_notice_hours", "max_advance_days", "buffer_minutes", "cancellation_notice_hours")},
        ),
        (gettext_lazy("Dates"), {"fields": ("created_at", "updated_at")}),
    )
    #: what a doctor may not change on their own profile (the clinic decides these)
    doctor_readonly_fields = ("user", "is_active", "consultation_fee", "currency")

    def get_queryset(self, request):
        qs = super().get_queryset(request).prefetch_related("specialties")
        if is_doctor_user(request):
            return qs.filter(user=request.user)
        return qs

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if is_doctor_user(request):
            fields += list(self.doctor_readonly_fields)
        elif obj is not None:
            fields.append("user")
        return fields

    def has_add_permission(self, request):
        return not is_doctor_user(request) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return not is_doctor_user(request) and super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(role=Role.DOCTOR, doctor__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @display(description=gettext_lazy("email"), ordering="user__email")
    def email(self, obj):
        return obj.user.email

    @display(description=gettext_lazy("specialties"))
    def specialty_list(self, obj):
        return ", ".join(s.label for s in obj.specialties.all())


# --- availability ------------------------------------------------------------------------------


class AvailabilityForm(forms.ModelForm):
    """Validates through ``availability_preview``: its problems become form errors, its slots the preview."""

    #: set by the admin for doctor users, whose form has no doctor field
    forced_doctor: Doctor | None = None

    class Meta:
        model = Availability
        fields = ("doctor", "date", "start_time", "end_time", "slot_minutes", "mode", "facility", "room")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "mode" in self.fields:
            # empty: in person when a facility or room is chosen, otherwise video (the service decides)
            self.fields["mode"].required = False
        # only open places can take new availability
        if "facility" in self.fields:
            self.fields["facility"].queryset = Facility.objects.filter(is_active=True)
        if "room" in self.fields:
            self.fields["room"].queryset = Room.objects.filter(is_active=True, facility__is_active=True).select_related(
                "facility"
            )

    def _get_validation_exclusions(self):
        # The database's check constraints on these fields are enforced by the scheduling rules in
        # clean(), with clearer messages than "Constraint … is violated".
        return super()._get_validation_exclusions() | {
            "start_time",
            "end_time",
            "slot_minutes",
            "mode",
            "facility",
            "room",
        }

    def _value(self, name):
        if name in self.fields:
            return self.cleaned_data.get(name)
        return getattr(self.instance, name, None) if self.instance.pk else None

    def clean(self):
        cleaned = super().clean()
        doctor = self.forced_doctor or self._value("doctor")
        if doctor is None and self.instance.pk:
            doctor = self.instance.doctor
        values = {name: self._value(name) for name in ("date", "start_time", "end_time", "slot_minutes")}
        if doctor is None or any(value is None for value in values.values()):
            return cleaned
        place = {name: self._value(name) for name in ("mode", "facility", "room") if name in self.fields}
        try:
            self.preview = availability_preview(
                doctor=doctor, availability=self.instance if self.instance.pk else None, **values, **place
            )
        except InvalidInput as exc:
            for name, problem in exc.field_errors.items():
                self.add_error(name if name in self.fields else None, problem)
            return cleaned
        for problem in self.preview.problems:
            self.add_error(None, problem)
        return cleaned


@admin.register(Availability)
class AvailabilityAdmin(DoctorScopedAdmin, ServiceFormAdmin):
    form = AvailabilityForm
    list_display = ("date", "doctor", "hours", "slot_minutes", "mode", "facility", "room", "free_count", "booked_count")
    list_filter = ("doctor", "slot_minutes", "mode", "facility")
    date_hierarchy = "date"
    list_select_related = ("doctor__user", "facility", "room")
    fields = ("doctor", "date", "start_time", "end_time", "slot_minutes", "mode", "facility", "room")
    change_form_after_template = "admin/booking/availability/preview.html"
    actions = ["delete_selected"]
    actions_list = ["open_week_view", "open_weekly_generator"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                slot_total=Count("slots"),
                slot_free=Count("slots", filter=Q(slots__status=SlotStatus.FREE)),
                slot_booked=Count("slots", filter=Q(slots__status=SlotStatus.BOOKED)),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # A change regenerates the day's slots; the doctor, the date and the place stay.
            fields += ["doctor", "date", "mode", "facility", "room"]
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"forced_doctor": own_doctor(request) if is_doctor_user(request) else None})

    @display(description=gettext_lazy("hours"))
    def hours(self, obj):
        return f"{obj.start_time:%H:%M}–{obj.end_time:%H:%M}"

    @display(description=gettext_lazy("free slots"), ordering="slot_free")
    def free_count(self, obj):
        return f"{obj.slot_free}/{obj.slot_total}"

    @display(description=gettext_lazy("booked"), ordering="slot_booked")
    def booked_count(self, obj):
        return obj.slot_booked

    # the form and its preview

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and "_preview" in request.POST:
            return self.render_bound_form(request, object_id, form_url, extra_context)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["slot_preview"] = getattr(context["adminform"].form, "preview", None)
        if obj is not None:
            context["current_slots"] = list(obj.slots.order_by("start"))
            context["current_zone"] = obj.doctor.time_zone
        context["now"] = timezone.now()
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = availability_update(
                availability=obj,
                start_time=data["start_time"],
                end_time=data["end_time"],
                slot_minutes=data["slot_minutes"],
                actor=request.user,
            )
        else:
            saved = availability_create(
                doctor=self.doctor_for(request, form, obj),
                date=data["date"],
                start_time=data["start_time"],
                end_time=data["end_time"],
                slot_minutes=data["slot_minutes"],
                actor=request.user,
                mode=data.get("mode"),
                facility=data.get("facility"),
                room=data.get("room"),
            )
        _copy_saved(saved, obj)
        count = saved.slots.count()
        messages.info(
            request,
            ngettext("This availability has %(count)d slot.", "This availability has %(count)d slots.", count)
            % {"count": count},
        )

    # deleting goes through availability_delete, which refuses booked availability

    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # The slots go with their availability inside availability_delete, which checks the rules itself;
        # nobody needs (or has) a separate permission to delete slots.
        perms_needed = {name for name in perms_needed if str(name) != str(Slot._meta.verbose_name)}
        return to_delete, model_count, perms_needed, protected

    def delete_model(self, request, obj):
        availability_delete(availability=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for availability in queryset.select_related("doctor"):
                availability_delete(availability=availability, actor=request.user)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:booking_availability_change", args=[object_id]))

    @admin.action(description=gettext_lazy("Delete selected availability"), permissions=["delete"])
    def delete_selected(self, request, queryset):
        try:
            with transaction.atomic():
                return django_delete_selected(self, request, queryset)
        except DomainError as exc:
            self.message_user(request, _("Nothing was deleted: %(reason)s") % {"reason": exc}, messages.ERROR)
            return None

    # the week view and the weekly-pattern generator

    @action(description=gettext_lazy("Week view"), icon="calendar_view_week", url_path="open-week-view")
    def open_week_view(self, request):
        return HttpResponseRedirect(reverse("admin:booking_availability_week"))

    @action(
        description=gettext_lazy("Generate weekly pattern"),
        icon="event_repeat",
        url_path="open-weekly-generator",
        permissions=["add"],
    )
    def open_weekly_generator(self, request):
        return HttpResponseRedirect(reverse("admin:booking_availability_generate"))

    def get_urls(self):
        return [
            path("week/", self.admin_site.admin_view(self.week_view), name="booking_availability_week"),
            path("generate/", self.admin_site.admin_view(self.generate_view), name="booking_availability_generate"),
            *super().get_urls(),
        ]

    def _page_context(self, request, title):
        return {**self.admin_site.each_context(request), "title": title, "opts": self.opts, "is_fullwidth": "1"}

    def week_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        doctors = list(visible_doctors(request))
        context = self._page_context(request, _("Week view"))
        context["can_pick_doctor"] = not is_doctor_user(request)
        context["doctors"] = doctors
        if not doctors:
            context["week"] = None
            return TemplateResponse(request, "admin/booking/week_view.html", context)
        doctor = doctors[0]
        wanted = request.GET.get("doctor")
        if wanted:
            doctor = next((d for d in doctors if str(d.pk) == wanted), None)
            if doctor is None:
                raise Http404(_("No such doctor."))
        try:
            day = dt.date.fromisoformat(request.GET["week"]) if request.GET.get("week") else None
        except ValueError:
            day = None
            messages.warning(request, _("That is not a date; showing this week."))
        today = timezone.now().astimezone(doctor.zone).date()
        day = day or today
        week_start = day - dt.timedelta(days=day.weekday())
        week = week_view_selector(doctor=doctor, week_start=week_start)

        def link(start):
            return "?" + urlencode({"doctor": doctor.pk, "week": start.isoformat()})

        appointment_admin = admin.site._registry.get(Appointment)
        can_book = appointment_admin is not None and appointment_admin.has_add_permission(request)

        context.update(
            {
                "doctor": doctor,
                "week": week,
                "today": today,
                "previous_url": link(week.previous_week),
                "next_url": link(week.next_week),
                "this_week_url": link(today - dt.timedelta(days=today.weekday())),
                "week_end": week_start + dt.timedelta(days=6),
                "legend": [(status, SlotStatus(status).label, week.counts[status]) for status in SlotStatus.values],
                "can_add": self.has_add_permission(request),
                "generate_url": reverse("admin:booking_availability_generate") + "?" + urlencode({"doctor": doctor.pk}),
                "grid": week_grid(week, can_book=can_book),
                "can_book": can_book,
            }
        )
        return TemplateResponse(request, "admin/booking/week_view.html", context)

    def generate_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        doctors = visible_doctors(request)
        initial = {"slot_minutes": 30, "weekdays": [0, 1, 2, 3, 4]}
        if request.GET.get("doctor"):
            initial["doctor"] = request.GET["doctor"]
        form = WeeklyPatternForm(
            request.POST or None, doctors=doctors, pick_doctor=not is_doctor_user(request), initial=initial
        )
        result = week_url = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            doctor = data.get("doctor") or own_doctor(request)
            try:
                result = availability_generate_weekly(
                    doctor=doctor,
                    weekdays=set(data["weekdays"]),
                    start_time=data["start_time"],
                    end_time=data["end_time"],
                    slot_minutes=data["slot_minutes"],
                    date_from=data["date_from"],
                    date_to=data["date_to"],
                    actor=request.user,
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                created = len(result.created)
                skipped = len(result.skipped)
                messages.success(
                    request,
                    ngettext(
                        "Created availability on %(count)d date.", "Created availability on %(count)d dates.", created
                    )
                    % {"count": created},
                )
                if skipped:
                    messages.warning(
                        request,
                        ngettext("Skipped %(count)d date.", "Skipped %(count)d dates.", skipped) % {"count": skipped},
                    )
                week_start = data["date_from"] - dt.timedelta(days=data["date_from"].weekday())
                week_url = (
                    reverse("admin:booking_availability_week")
                    + "?"
                    + urlencode({"doctor": doctor.pk, "week": week_start.isoformat()})
                )
        context = self._page_context(request, _("Generate a weekly pattern"))
        context.update({"form": form, "result": result, "week_url": week_url, "max_days": MAX_WEEKLY_DAYS})
        return TemplateResponse(request, "admin/booking/weekly_pattern.html", context)


@dataclass(frozen=True)
class GridCell:
    """One cell of the week grid: a slot (or none) and what clicking it does."""

    item: object | None = None  # a WeekSlot
    visit: Appointment | None = None
    book_url: str = ""
    visit_url: str = ""


@dataclass(frozen=True)
class GridRow:
    time: dt.time
    cells: list[GridCell]


def week_grid(week, *, can_book: bool) -> list[GridRow]:
    """The week as a time grid: one row per start time used in the week (the doctor's local time), one
    column per day. A booked or held cell names its patient and links to the visit; a free future cell
    links to booking for a patient (for the front desk) with that slot chosen. One query."""
    slot_ids = [item.slot.pk for day in week.days for item in day.slots]
    visits = {
        visit.slot_id: visit
        for visit in Appointment.objects.filter(slot_id__in=slot_ids, status__in=list(SLOT_OCCUPYING)).only(
            "pk", "slot_id", "first_name", "last_name", "status"
        )
    }
    times = sorted({item.local_start.time() for day in week.days for item in day.slots})
    by_day_time = [{item.local_start.time(): item for item in day.slots} for day in week.days]
    book = reverse("admin:booking_appointment_book")
    rows = []
    for moment in times:
        cells = []
        for day_items in by_day_time:
            item = day_items.get(moment)
            if item is None:
                cells.append(GridCell())
                continue
            visit = visits.get(item.slot.pk)
            if visit is not None and item.display_status in (SlotStatus.BOOKED, SlotStatus.HELD):
                url = reverse("admin:booking_appointment_change", args=[visit.pk])
                cells.append(GridCell(item=item, visit=visit, visit_url=url))
            elif item.display_status == SlotStatus.FREE and not item.is_past and can_book:
                cells.append(GridCell(item=item, book_url=f"{book}?{urlencode({'slot': item.slot.pk})}"))
            else:
                cells.append(GridCell(item=item))
        rows.append(GridRow(time=moment, cells=cells))
    return rows


class WeeklyPatternForm(forms.Form):
    doctor = forms.ModelChoiceField(
        label=gettext_lazy("Doctor"), queryset=Doctor.objects.none(), widget=UnfoldAdminSelectWidget
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Weekdays"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
    )
    start_time = forms.TimeField(label=gettext_lazy("Start time"), widget=UnfoldAdminSingleTimeWidget)
    end_time = forms.TimeField(label=gettext_lazy("End time"), widget=UnfoldAdminSingleTimeWidget)
    slot_minutes = forms.IntegerField(
        label=gettext_lazy("Visit length (minutes)"), min_value=5, max_value=480, widget=UnfoldAdminIntegerFieldWidget
    )
    date_from = forms.DateField(label=gettext_lazy("From"), widget=UnfoldAdminSingleDateWidget)
    date_to = forms.DateField(
        label=gettext_lazy("Until"),
        widget=UnfoldAdminSingleDateWidget,
        help_text=gettext_lazy("Inclusive; at most %(days)d days per run.") % {"days": MAX_WEEKLY_DAYS},
    )

    def __init__(self, *args, doctors, pick_doctor: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if pick_doctor:
            self.fields["doctor"].queryset = doctors
        else:
            del self.fields["doctor"]


# --- slots -------------------------------------------------------------------------------------


@admin.register(Slot)
class SlotAdmin(ReadOnlyAdminMixin, DoctorScopedAdmin):
    """Slots are made and changed only by the scheduling and booking services: read-only here."""

    list_display = ("local_start", "doctor", "local_end", "status_badge", "hold_expires_at", "availability")
    list_filter = ("status", "doctor")
    date_hierarchy = "start"
    list_select_related = ("doctor__user", "availability__doctor__user")
    ordering = ("start",)

    @display(description=gettext_lazy("start (doctor's time)"), ordering="start")
    def local_start(self, obj):
        return f"{obj.start.astimezone(obj.doctor.zone):%Y-%m-%d %H:%M} {obj.doctor.time_zone}"

    @display(description=gettext_lazy("end"), ordering="end")
    def local_end(self, obj):
        return obj.end.astimezone(obj.doctor.zone).strftime("%H:%M")

    @display(
        description=gettext_lazy("status"),
        ordering="status",
        label={
            SlotStatus.FREE: "success",
            SlotStatus.HELD: "warning",
            SlotStatus.BOOKED: "info",
            SlotStatus.BLOCKED: "danger",
        },
    )
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()


# --- blocked time ------------------------------------------------------------------------------


class BlockedTimeForm(forms.ModelForm):
    class Meta:
        model = BlockedTime
        fields = ("doctor", "starts_at", "ends_at", "reason")

    def _get_validation_exclusions(self):
        # blocked_time_create checks the order of the times with a clear message
        return super()._get_validation_exclusions() | {"starts_at", "ends_at"}


@admin.register(BlockedTime)
class BlockedTimeAdmin(DoctorScopedAdmin, ServiceFormAdmin):
    form = BlockedTimeForm
    list_display = ("starts_at", "ends_at", "doctor", "reason", "created_by")
    list_filter = ("doctor",)
    date_hierarchy = "starts_at"
    list_select_related = ("doctor__user", "created_by")
    fields = ("doctor", "starts_at", "ends_at", "reason")

    def has_change_permission(self, request, obj=None):
        # Blocked time is not edited in place: delete it (freeing its slots) and block again.
        return obj is None and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        zone = timezone.get_current_timezone_name()
        for name in ("starts_at", "ends_at"):
            if name in form.base_fields:
                form.base_fields[name].help_text = _("In your time zone (%(zone)s).") % {"zone": zone}
        return form

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        result = blocked_time_create(
            doctor=self.doctor_for(request, form, obj),
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            reason=data.get("reason", ""),
            actor=request.user,
        )
        _copy_saved(result.blocked_time, obj)
        messages.info(
            request,
            ngettext(
                "%(count)d free slot is now blocked.", "%(count)d free slots are now blocked.", result.blocked_slots
            )
            % {"count": result.blocked_slots},
        )
        if result.booked_slots:
            messages.warning(
                request,
                ngettext(
                    "%(count)d booked slot overlaps this time and was left as it is: move or cancel that appointment.",
                    "%(count)d booked slots overlap this time and were left as they are: move or cancel those appointments.",
                    result.booked_slots,
                )
                % {"count": result.booked_slots},
            )

    def delete_model(self, request, obj):
        freed = blocked_time_delete(blocked_time=obj, actor=request.user)
        messages.info(
            request,
            ngettext("%(count)d slot is free again.", "%(count)d slots are free again.", freed) % {"count": freed},
        )

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for blocked_time in queryset.select_related("doctor"):
                blocked_time_delete(blocked_time=blocked_time, actor=request.user)
