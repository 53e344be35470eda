"""Conversations in the admin: doctors answer their patients, staff answer support, admins look in.

Scope: a doctor sees the conversations of their own appointments, staff the support conversations,
admins everything, and an admin reading a conversation they are not part of is audited. The change
page is the thread with a reply form; nothing here is edited through a model form.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from booking import rules
from booking.models import Appointment
from core.admin_actions import ReadOnlyAdminMixin
from core.errors import DomainError, NotFound
from workflows.messaging.json import message_json, thread_poll
from workflows.messaging.models import MESSAGE_MAX_LENGTH, Conversation, ConversationKind, SMSMessage, SMSOptOut
from workflows.messaging.selectors import (
    conversation_messages,
    conversation_reader,
    conversation_title,
    conversations_visible_to,
    sender_label,
    unread_total,
    with_unread,
)
from workflows.messaging.services import (
    conversation_mark_read,
    conversation_open_for_appointment,
    conversation_open_support,
    conversation_record_admin_view,
    message_send,
)
from workflows.messaging.sms import sms_opt_in, sms_opt_out
from workflows.sms import normalize_phone

ADMIN_ROLES = frozenset({"doctor", "staff", "admin"})


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply"),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MESSAGE_MAX_LENGTH}),
    )


def unread_badge(request) -> str:
    """The sidebar's "Messages" badge: conversations waiting for this user (or their team)."""
    if not _in_admin(request.user):
        return ""
    return str(unread_total(user=request.user))


def _in_admin(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff and user.role in ADMIN_ROLES


def sidebar_permission(request) -> bool:
    """Who sees "Messages" in the admin sidebar: doctors, staff and admins."""
    return _in_admin(request.user)


@admin.register(Conversation)
class ConversationAdmin(ModelAdmin):
    list_display = ("title_display", "kind", "patient", "last_message_at", "unread_display")
    list_display_links = ("title_display",)
    list_filter = ("kind",)
    search_fields = ("patient__email", "patient__first_name", "patient__last_name", "=id", "=appointment__id")
    list_select_related = ("patient", "appointment__doctor__user")
    show_full_result_count = False
    list_per_page = 50
    actions_list = ["start_conversation"]

    # --- scope and permissions ---
    def get_queryset(self, request):
        return with_unread(conversations_visible_to(user=request.user), user=request.user)

    def has_module_permission(self, request):
        return _in_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return _in_admin(request.user)

    def has_add_permission(self, request):
        return False  # conversations open from an appointment or a patient ("start" view)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # messages are part of the record

    # --- list ---
    @action(description=_("Start a conversation"), url_path="start-conversation", icon="add_comment")
    def start_conversation(self, request):
        return redirect("admin:messaging_conversation_start")

    @display(description=_("Conversation"))
    def title_display(self, obj):
        return conversation_title(obj)

    @display(description=_("Unread"), ordering="unread")
    def unread_display(self, obj):
        return obj.unread or ""

    # --- the thread ---
    def get_urls(self):
        return [
            path("start/", self.admin_site.admin_view(self.start_view), name="messaging_conversation_start"),
            path("<int:pk>/poll/", self.admin_site.admin_view(self.poll_view), name="messaging_conversation_poll"),
            path("<int:pk>/send/", self.admin_site.admin_view(self.send_view), name="messaging_conversation_send"),
            *super().get_urls(),
        ]

    def _reading(self, request, pk):
        conversation = self.get_queryset(request).filter(pk=pk).first()
        if conversation is None:
            raise Http404
        try:
            return conversation, conversation_reader(conversation=conversation, user=request.user)
        except NotFound:
            raise Http404

    def poll_view(self, request, pk):
        """JSON for the thread page: messages newer than ``?after=<id>`` (the same as the portal's)."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        conversation, reader = self._reading(request, pk)
        try:
            after = max(int(request.GET.get("after", "0")), 0)
        except ValueError:
            return JsonResponse({"error": {"code": "invalid", "message": _("after must be a message id.")}}, status=400)
        read = request.GET.get("read") == "1"
        return JsonResponse(
            thread_poll(
                conversation=conversation, reader=reader, user=request.user, after=after, read=read, through="admin"
            )
        )

    def send_view(self, request, pk):
        """The reply form's script posts here (JSON answer); without a script the form posts to the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        conversation, reader = self._reading(request, pk)
        if not reader.is_participant:
            raise Http404  # admins look in; only participants write
        try:
            message = message_send(conversation=conversation, sender=request.user, body=request.POST.get("body", ""))
        except DomainError as exc:
            return JsonResponse(
                {"error": {"code": exc.code, "message": str(exc), "details": exc.details}}, status=exc.status
            )
        return JsonResponse({"message": message_json(message, conversation, user=request.user)}, status=201)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        conversation = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if conversation is None:
            raise Http404
        try:
            reader = conversation_reader(conversation=conversation, user=request.user)
        except NotFound:
            raise Http404
        form = ReplyForm(request.POST or None)
        if request.method == "POST":
            if not reader.is_participant:
                raise Http404  # admins look in; only participants write
            if form.is_valid():
                try:
                    message_send(conversation=conversation, sender=request.user, body=form.cleaned_data["body"])
                except DomainError as exc:
                    form.add_error("body", str(exc))
                else:
                    messages.success(request, _("Sent."))
                    return redirect(request.path)
        if reader.is_participant:
            conversation_mark_read(conversation=conversation, user=request.user)
        else:
            conversation_record_admin_view(conversation=conversation, admin=request.user, through="admin")
        thread = conversation_messages(conversation=conversation)
        appointment = conversation.appointment
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": conversation_title(conversation, for_side=reader.side),
            "conversation": conversation,
            "original": conversation,
            "thread": [(message, sender_label(message, conversation)) for message in thread],
            "last_id": thread[-1].pk if thread else 0,
            "form": form if reader.is_participant else None,
            "reader": reader,
            "poll_url": reverse("admin:messaging_conversation_poll", args=[conversation.pk]),
            "send_url": reverse("admin:messaging_conversation_send", args=[conversation.pk]),
            "appointment_url": (
                reverse("admin:booking_appointment_change", args=[appointment.pk]) if appointment else ""
            ),
            "video_url": (
                reverse("portal:video_visit", args=[appointment.public_id])
                if appointment is not None and reader.side == "doctor"
                else ""
            ),
        }
        return TemplateResponse(request, "admin/messaging/conversation/thread.html", context)

    # --- starting a conversation ---
    def start_view(self, request):
        """Doctors start a conversation about one of their visits; staff and admins with a patient."""
        user = request.user
        if not _in_admin(user):
            raise Http404
        if request.method == "POST":
            try:
                if request.POST.get("appointment"):
                    appointment = (
                        Appointment.objects.select_related("doctor__user", "patient")
                        .filter(pk=request.POST["appointment"] if request.POST["appointment"].isdigit() else None)
                        .first()
                    )
                    if appointment is None:
                        raise Http404
                    conversation = conversation_open_for_appointment(appointment=appointment, actor=user)
                else:
                    if user.role not in {"staff", "admin"}:
                        raise Http404
                    email = (request.POST.get("patient_email") or "").strip()
                    patient = get_user_model().objects.filter(email__iexact=email, role="patient").first()
                    if patient is None:
                        messages.error(request, _("No patient with this email address."))
                        return redirect(request.path)
                    conversation = conversation_open_support(patient=patient, actor=user)
            except NotFound:
                raise Http404
            except DomainError as exc:
                messages.error(request, str(exc))
                return redirect(request.path)
            return redirect(reverse("admin:messaging_conversation_change", args=[conversation.pk]))
        appointments = []
        if user.role == "doctor":
            now = timezone.now()
            appointments = list(
                Appointment.objects.filter(
                    doctor__user=user,
                    starts_at__gte=now - timedelta(days=30),
                    starts_at__lte=now + timedelta(days=60),
                )
                .filter(status__in=rules.CONVERSATION_STATUSES)  # the rulebook: visits that were paid for
                .exclude(conversations__kind=ConversationKind.APPOINTMENT)
                .order_by("starts_at")[:100]
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Start a conversation"),
            "appointments": appointments,
            "can_write_patients": user.role in {"staff", "admin"},
        }
        return TemplateResponse(request, "admin/messaging/conversation/start.html", context)


# --- text messages (clinic admins) ------------------------------------------------------------------


def _is_clinic_admin(user) -> bool:
    return user.is_active and (user.is_superuser or user.role == "admin")


class SMSOptOutForm(forms.ModelForm):
    class Meta:
        model = SMSOptOut
        fields = ("phone", "note")
        help_texts = {"phone": _("This number gets no text messages from Medbook until it is removed here.")}

    def clean_phone(self):
        number = normalize_phone(self.cleaned_data["phone"])
        if not number.lstrip("+").isdigit():
            raise forms.ValidationError(_("Enter a phone number."))
        if SMSOptOut.objects.filter(phone=number).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("This number has already opted out."))
        return number


@admin.register(SMSOptOut)
class SMSOptOutAdmin(ModelAdmin):
    """The admin's switch: add a number to stop texting it, delete the row to text it again."""

    form = SMSOptOutForm
    list_display = ("phone", "source", "note", "created_at")
    list_filter = ("source",)
    search_fields = ("phone",)

    def has_module_permission(self, request):
        return _is_clinic_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return _is_clinic_admin(request.user)

    def has_add_permission(self, request):
        return _is_clinic_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return _is_clinic_admin(request.user)

    def save_model(self, request, obj, form, change):
        # through the service: audited, idempotent
        sms_opt_out(phone=obj.phone, source=SMSOptOut.Source.ADMIN, actor=request.user, note=obj.note)
        obj.pk = SMSOptOut.objects.get(phone=obj.phone).pk

    def delete_model(self, request, obj):
        sms_opt_in(phone=obj.phone, actor=request.user)

    def delete_queryset(self, request, queryset):
        for row in queryset:
            sms_opt_in(phone=row.phone, actor=request.user)


@admin.register(SMSMessage)
class SMSMessageAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """What each text message became at the provider (from its answer and its status reports)."""

    list_display = (
        "created_at",
        "to",
        "provider",
        "provider_message_id",
        "status",
        "provider_status",
        "segments",
        "encoding",
        "status_at",
    )
    list_filter = ("status", "provider")
    search_fields = ("to", "=provider_message_id")
    list_select_related = ("recipient",)

    def has_module_permission(self, request):
        return _is_clinic_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return _is_clinic_admin(request.user)
