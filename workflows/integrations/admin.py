"""Webhooks in the admin (clinic admins only): endpoints are configuration; deliveries are a read-only
log with each attempt's response code and time, and a "Replay" button that sends the event again."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget, UnfoldAdminTextInputWidget

from accounts.models import Role
from core.admin_actions import ReadOnlyAdminMixin, button, confirm_dialog, find, run_service
from workflows.integrations import services as svc
from workflows.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent


def _is_clinic_admin(user) -> bool:
    return user.is_active and (user.is_superuser or user.role == Role.ADMIN)


class ClinicAdminOnly:
    def has_module_permission(self, request):
        return _is_clinic_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return _is_clinic_admin(request.user)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Where the events are posted (https, a public host)."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=WebhookEvent.choices, widget=UnfoldAdminCheckboxSelectMultipleWidget
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "events", "is_active", "secret")
        help_texts = {
            "secret": _("The receiving system checks each delivery's Medbook-Signature header with it."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk and not self.initial.get("secret"):
            self.initial["secret"] = svc.new_secret()
        self.fields["secret"].widget = UnfoldAdminTextInputWidget()

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            svc.check_target(url)
        except svc.WebhookTargetRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ClinicAdminOnly, ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "url", "events_display", "is_active", "deliveries_link")
    list_filter = ("is_active",)
    search_fields = ("name", "url")

    def has_add_permission(self, request):
        return _is_clinic_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return _is_clinic_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return _is_clinic_admin(request.user)

    @display(description=_("events"))
    def events_display(self, obj):
        labels = dict(WebhookEvent.choices)
        return ", ".join(str(labels.get(event, event)) for event in obj.events)

    @display(description=_("deliveries"))
    def deliveries_link(self, obj):
        url = reverse("admin:integrations_webhookdelivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        return format_html('<a class="text-primary-600 underline" href="{}">{}</a>', url, _("Log"))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        svc.webhook_endpoint_saved(endpoint=obj, actor=request.user, created=not change)

    def delete_model(self, request, obj):
        svc.webhook_endpoint_delete(endpoint=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            svc.webhook_endpoint_delete(endpoint=endpoint, actor=request.user)


class WebhookAttemptInline(TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    hide_title = True  # each row says it all; no "<delivery>: <code>" caption above it
    fields = ("attempted_at", "status_code", "duration_ms", "error", "response_excerpt")
    readonly_fields = fields
    verbose_name_plural = _("delivery attempts")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return _is_clinic_admin(request.user)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ClinicAdminOnly, ReadOnlyAdminMixin, ModelAdmin):
    list_display = (
        "created_at",
        "event",
        "endpoint",
        "status_display",
        "attempts",
        "last_status_code",
        "response_time",
        "next_attempt_at",
    )
    list_filter = ("status", "event", "endpoint")
    list_select_related = ("endpoint",)
    search_fields = ("=event_id",)
    fields = (
        "endpoint",
        "event",
        "event_id",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "replay_of",
        "replayed_by",
        "created_at",
        "payload_display",
    )
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions_detail = ["replay_detail"]

    @display(
        description=_("status"),
        label={"pending": "warning", "sending": "info", "succeeded": "success", "failed": "danger"},
    )
    def status_display(self, obj):
        return obj.status, obj.get_status_display()

    @display(description=_("response time"))
    def response_time(self, obj):
        attempt = obj.attempt_log.first()
        return f"{attempt.duration_ms} ms" if attempt is not None else "—"

    @display(description=_("payload"))
    def payload_display(self, obj):
        text = json.dumps(obj.payload, ensure_ascii=False, indent=2, sort_keys=True)
        return format_html('<pre class="font-mono text-sm whitespace-pre-wrap">{}</pre>', text)

    def has_replay_detail_permission(self, request, object_id=None):
        return _is_clinic_admin(request.user)

    @button(
        description=_("Replay"),
        permissions=["replay_detail"],
        icon="replay",
        dialog=confirm_dialog(
            title=_("Replay this webhook"),
            description=_(
                "The event is sent to the endpoint again, as a new delivery with the same event id and payload."
            ),
            submit=_("Replay"),
        ),
    )
    def replay_detail(self, request, form, object_id):
        delivery = find(self.get_queryset(request).select_related("endpoint"), object_id)
        if delivery is None:
            raise Http404
        return run_service(
            request,
            lambda: svc.webhook_delivery_replay(delivery=delivery, actor=request.user),
            _("The event was queued to be sent again."),
            back=reverse("admin:integrations_webhookdelivery_changelist")
            + f"?endpoint__id__exact={delivery.endpoint_id}",
        )
