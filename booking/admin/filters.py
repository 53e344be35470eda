"""Admin list filters: dates in the clinic's clock, and choices read without a query per row."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.validators import EMPTY_VALUES
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.contrib.filters.admin import RangeDateTimeFilter, RelatedDropdownFilter
from unfold.utils import parse_datetime_str

from accounts.models import Role
from booking.models import AppointmentMode, Doctor


class LocalRangeDateTimeFilter(RangeDateTimeFilter):
    """Unfold's date-time range, read in the viewer's active time zone (Unfold passes naive values,
    which Django would otherwise interpret in the default zone, with a warning)."""

    def _bound(self, side: str):
        day = self.used_parameters.get(f"{self.parameter_name}_{side}_0")
        clock = self.used_parameters.get(f"{self.parameter_name}_{side}_1")
        if day in EMPTY_VALUES or clock in EMPTY_VALUES:
            return None
        value = parse_datetime_str(f"{day} {clock}")
        if value is None:
            raise ValidationError("invalid date or time")
        return timezone.make_aware(value) if timezone.is_naive(value) else value

    def queryset(self, request, queryset):
        try:
            filters = {}
            start, end = self._bound("from"), self._bound("to")
            if start is not None:
                filters[f"{self.parameter_name}__gte"] = start
            if end is not None:
                filters[f"{self.parameter_name}__lte"] = end
            return queryset.filter(**filters)
        except (ValueError, ValidationError):
            return None


class ModeFilter(admin.SimpleListFilter):
    """Video or in person, from the choices (the default reads every row's distinct value)."""

    title = _("mode")
    parameter_name = "mode"

    def lookups(self, request, model_admin):
        return AppointmentMode.choices

    def queryset(self, request, queryset):
        return queryset.filter(mode=self.value()) if self.value() else queryset


class GatewayFilter(admin.SimpleListFilter):
    title = _("gateway")
    parameter_name = "gateway"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted({*settings.PAYMENT_GATEWAYS, "cash", "sandbox", "stripe"})]

    def queryset(self, request, queryset):
        return queryset.filter(gateway=self.value()) if self.value() else queryset


class DoctorFilter(RelatedDropdownFilter):
    """Doctors as a dropdown, their names read in one query (the default reads each doctor's user)."""

    def field_choices(self, field, request, model_admin):
        doctors = Doctor.objects.select_related("user").order_by("user__last_name", "user__first_name", "pk")
        if request.user.role == Role.DOCTOR:
            doctors = doctors.filter(user=request.user)
        return [(doctor.pk, str(doctor)) for doctor in doctors]
