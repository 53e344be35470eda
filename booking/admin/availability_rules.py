"""Doctors' standing weekly hours in the admin (issue 17 item 4): a doctor keeps their own rules, staff
and admins every doctor's. Saving a rule publishes its dates up to the rolling horizon at once; after
that the worker's hourly task keeps the horizon rolling (``booking.services.availability_rules_extend``).
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.decorators import display

from booking.admin.scheduling import AuditedModelAdmin, DoctorScopedAdmin, ServiceFormAdmin, is_doctor_user, own_doctor
from booking.models import AvailabilityRule
from booking.services import availability_rule_extend
from booking.services.availability_rules import weeks_ahead_default
from booking.slotting import wall_duration
from core.errors import DomainError


class AvailabilityRuleForm(forms.ModelForm):
    #: the doctor of a doctor user (their form has no doctor field); set by the admin's get_form
    fixed_doctor = None

    class Meta:
        model = AvailabilityRule
        fields = (
            "doctor",
            "weekday",
            "start_time",
            "end_time",
            "slot_minutes",
            "mode",
            "facility",
            "room",
            "weeks_ahead",
            "is_active",
        )

    def clean(self):
        data = super().clean()
        start, end, minutes = data.get("start_time"), data.get("end_time"), data.get("slot_minutes")
        if start and end and minutes:
            wall = wall_duration(start, end)
            if wall <= timedelta(0) or wall < timedelta(minutes=minutes):
                raise forms.ValidationError(
                    _("A %(minutes)d-minute visit does not fit between %(start)s and %(end)s.")
                    % {"minutes": minutes, "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
                )
        room, facility = data.get("room"), data.get("facility")
        if room is not None and facility is not None and room.facility_id != facility.pk:
            self.add_error("room", _("This room is not at that facility."))
        doctor = self.fixed_doctor or data.get("doctor") or getattr(self.instance, "doctor", None)
        if doctor is not None and start is not None and data.get("weekday") is not None:
            same = AvailabilityRule.objects.filter(doctor=doctor, weekday=data["weekday"], start_time=start)
            if same.exclude(pk=self.instance.pk).exists():
                raise forms.ValidationError(_("This doctor already has a rule starting then on that day."))
        return data


@admin.register(AvailabilityRule)
class AvailabilityRuleAdmin(DoctorScopedAdmin, ServiceFormAdmin, AuditedModelAdmin):
    form = AvailabilityRuleForm
    audit_name = "availability_rule"
    list_display = ("doctor", "weekday", "hours", "slot_minutes", "mode", "facility", "horizon", "is_active")
    list_filter = ("doctor", "weekday", "mode", "is_active")
    list_select_related = ("doctor__user", "facility")
    ordering = ("doctor", "weekday", "start_time")
    readonly_fields = ("generated_through",)
    actions = ["publish_now"]

    def get_fields(self, request, obj=None):
        fields = [*self.form.Meta.fields, "generated_through"]
        if is_doctor_user(request):
            fields.remove("doctor")
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.fixed_doctor = own_doctor(request) if is_doctor_user(request) else None
        if "weeks_ahead" in form.base_fields:
            form.base_fields["weeks_ahead"].help_text = _(
                "How far ahead the slots are published. Empty: the clinic default (%(weeks)d weeks)."
            ) % {"weeks": weeks_ahead_default()}
        return form

    @display(description=gettext_lazy("Hours"))
    def hours(self, obj):
        return f"{obj.start_time:%H:%M}–{obj.end_time:%H:%M}"

    @display(description=gettext_lazy("Published through"))
    def horizon(self, obj):
        return obj.generated_through or "—"

    def save_model(self, request, obj, form, change):
        obj.doctor = self.doctor_for(request, form, obj)
        super().save_model(request, obj, form, change)
        self._publish(request, [obj.pk])

    def _publish(self, request, rule_ids) -> None:
        created = 0
        for rule_id in rule_ids:
            try:
                created += availability_rule_extend(rule_id=rule_id)
            except DomainError as exc:
                messages.error(request, str(exc))
        messages.info(
            request,
            ngettext(
                "%(count)d day of availability was published from the rule.",
                "%(count)d days of availability were published from the rules.",
                created,
            )
            % {"count": created},
        )

    @admin.action(description=gettext_lazy("Publish the selected rules now"))
    def publish_now(self, request, queryset):
        self._publish(request, list(queryset.values_list("pk", flat=True)))
