"""Clinic operations in the admin.

Calendar feeds: a doctor's workspace page "My calendar feed" shows their private link and lets them
make a new one, choose whether names show, or switch it off; clinic admins see every feed (to switch
off a link that got out). Every button asks first and calls a service (``core.admin_actions``).
"""

from __future__ import annotations

import re
import uuid

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, Value
from django.db.models.functions import Replace
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.enums import ActionVariant

from accounts.models import Role
from booking import rules
from booking.models import Doctor, Facility
from core.admin_actions import ConfirmForm, ReadOnlyAdminMixin, button, confirm_dialog, find, run_service
from core.dates import short_day_text
from core.errors import DomainError
from workflows.operations import services as svc
from workflows.operations.models import (
    Arrival,
    CalendarFeed,
    CheckIn,
    Moderation,
    QueueBoard,
    QueueStatus,
    SlotOffer,
    VisitRating,
    WaitlistEntry,
)
from workflows.operations.selectors import active_feed, board_url, feed_url, feed_webcal_url


def _is_clinic_admin(user) -> bool:
    return user.is_active and (user.is_superuser or user.role == Role.ADMIN)


def calendar_feed_sidebar_permission(request) -> bool:
    """Who sees "My calendar feed" in the admin sidebar: doctors (clinic admins open the list itself)."""
    user = request.user
    return user.is_active and user.role == Role.DOCTOR and user.has_perm("operations.view_calendarfeed")


class NamesForm(ConfirmForm):
    with_names = forms.BooleanField(label=_("Show the patient's name in each event"), required=False)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("__str__", "state", "with_names", "created_at", "last_fetched_at", "revoked_at")
    list_filter = ("with_names",)
    search_fields = ("user__email", "user__first_name", "user__last_name")
    list_select_related = ("user",)
    fields = ("user", "link", "with_names", "created_at", "last_fetched_at", "revoked_at")
    readonly_fields = (*fields, "link_hidden")
    actions_list = ["create_link"]
    actions_detail = ["renew_detail", "names_detail", "revoke_detail"]

    # who sees what: a doctor only their own feeds, clinic admins every feed, nobody else any

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if _is_clinic_admin(request.user) else qs.filter(user=request.user)

    def _own_active(self, request, object_id):
        feed = find(self.get_queryset(request), object_id) if object_id is not None else None
        return feed if feed is not None and feed.revoked_at is None else None

    def has_create_link_permission(self, request, object_id=None):
        return (
            self.has_view_permission(request)
            and svc.may_have_calendar_feed(request.user)
            and active_feed(request.user) is None
        )

    def has_renew_detail_permission(self, request, object_id=None):
        feed = self._own_active(request, object_id)
        return feed is not None and feed.user_id == request.user.pk

    def has_names_detail_permission(self, request, object_id=None):
        return self.has_renew_detail_permission(request, object_id)

    def has_revoke_detail_permission(self, request, object_id=None):
        return self._own_active(request, object_id) is not None

    def get_fields(self, request, obj=None):
        # the secret link is shown to its owner only, never to an admin looking at someone's feed
        if obj is not None and obj.user_id != request.user.pk:
            return tuple("link_hidden" if name == "link" else name for name in self.fields)
        return self.fields

    # a doctor with a feed lands on it

    def changelist_view(self, request, extra_context=None):
        if not _is_clinic_admin(request.user) and not request.GET:
            feed = active_feed(request.user)
            if feed is not None and self.has_view_permission(request, feed):
                return HttpResponseRedirect(reverse("admin:operations_calendarfeed_change", args=[feed.pk]))
        return super().changelist_view(request, extra_context)

    @display(description=_("state"), label={"active": "success", "revoked": "danger"})
    def state(self, obj):
        return ("active", _("active")) if obj.is_active else ("revoked", _("switched off"))

    @display(description=_("private link"))
    def link(self, obj):
        if not obj.is_active:
            return _("Switched off: this link no longer works.")
        return format_html(
            '<input type="text" readonly value="{}" class="w-full font-mono text-sm border rounded px-2 py-1">'
            '<p class="mt-2"><a class="text-primary-600 underline" href="{}">{}</a></p>'
            '<p class="mt-2 text-sm">{}</p>',
            feed_url(obj),
            feed_webcal_url(obj),
            _("Open in my calendar app"),
            _(
                "Subscribe to it in Google Calendar (Other calendars → From URL), Outlook (Add calendar → "
                "Subscribe from web) or Apple Calendar. It lists your visits without clinical detail; anyone "
                "with the link can see their times, so make a new link if it got out."
            ),
        )

    @display(description=_("private link"))
    def link_hidden(self, obj):
        return _("Only its owner sees the link.") if obj.is_active else _("Switched off: this link no longer works.")

    # buttons

    def _back(self, object_id=None):
        if object_id is None:
            return reverse("admin:operations_calendarfeed_changelist")
        return reverse("admin:operations_calendarfeed_change", args=[object_id])

    def _feed(self, request, object_id) -> CalendarFeed:
        feed = find(self.get_queryset(request), object_id)
        if feed is None:
            raise Http404
        return feed

    @button(
        description=_("Create my calendar link"),
        permissions=["create_link"],
        icon="calendar_add_on",
        variant=ActionVariant.PRIMARY,
        url_path="create-link",
        dialog=confirm_dialog(
            title=_("Create my calendar link"),
            description=_(
                "A private link to your visits that your calendar (Google, Outlook, Apple) can subscribe to."
            ),
            submit=_("Create"),
        ),
    )
    def create_link(self, request, form, object_id=None):
        return self._renew(request, user=request.user, back=self._back())

    @button(
        description=_("New link"),
        permissions=["renew_detail"],
        icon="autorenew",
        dialog=confirm_dialog(
            title=_("Make a new calendar link"),
            description=_(
                "The current link stops working at once; calendars subscribed to it must subscribe to the new one."
            ),
            submit=_("New link"),
        ),
    )
    def renew_detail(self, request, form, object_id):
        feed = self._feed(request, object_id)
        return self._renew(request, user=feed.user, back=self._back(object_id))

    def _renew(self, request, *, user, back: str):
        """A new link for ``user``, then their new feed's page (the old page shows a dead link)."""
        try:
            feed = svc.calendar_feed_renew(user=user, actor=request.user)
        except DomainError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(back)
        messages.success(request, _("Your new calendar link is ready. Any old link no longer works."))
        return HttpResponseRedirect(self._back(feed.pk))

    @button(
        description=_("Names in events"),
        permissions=["names_detail"],
        icon="badge",
        dialog=confirm_dialog(
            title=_("Names in calendar events"),
            description=_("Off: each event says only “Medbook visit”, the time and the place."),
            submit=_("Save"),
            form_class=NamesForm,
        ),
    )
    def names_detail(self, request, form, object_id):
        feed = self._feed(request, object_id)
        return run_service(
            request,
            lambda: svc.calendar_feed_set_names(
                feed=feed, actor=request.user, with_names=form.cleaned_data["with_names"]
            ),
            _("Your calendar settings are saved."),
            back=self._back(object_id),
        )

    @button(
        description=_("Switch off"),
        permissions=["revoke_detail"],
        icon="link_off",
        variant=ActionVariant.DANGER,
        dialog=confirm_dialog(
            title=_("Switch this calendar link off"),
            description=_("The link stops working at once; subscribed calendars stop showing the visits."),
            submit=_("Switch off"),
        ),
    )
    def revoke_detail(self, request, form, object_id):
        feed = self._feed(request, object_id)
        return run_service(
            request,
            lambda: svc.calendar_feed_revoke(feed=feed, actor=request.user),
            _("The calendar link is switched off."),
            back=self._back(object_id),
        )


# --- ratings and feedback -------------------------------------------------------------------------


MODERATION_COLOURS = {
    Moderation.NONE: "info",
    Moderation.PENDING: "warning",
    Moderation.APPROVED: "success",
    Moderation.REJECTED: "danger",
}


def _is_doctor(user) -> bool:
    return user.is_authenticated and user.role == Role.DOCTOR


def feedback_sidebar_permission(request) -> bool:
    """Who sees "My feedback" in the sidebar: doctors (staff moderate from "Ratings")."""
    return request.user.is_active and _is_doctor(request.user) and request.user.has_perm("operations.view_visitrating")


def _rating_words(rating) -> dict:
    return {"number": rating.appointment_id, "doctor": rating.doctor}


def _says_rating(text):
    def consequence(request, object_id) -> str:
        rating = find(VisitRating.objects.select_related("doctor__user"), object_id)
        return text % _rating_words(rating) if rating is not None else ""

    return consequence


def ratings_sidebar_permission(request) -> bool:
    """Who sees "Ratings" (moderation) in the sidebar: staff and clinic admins."""
    user = request.user
    return user.is_active and not _is_doctor(user) and user.has_perm("operations.view_visitrating")


@admin.register(VisitRating)
class VisitRatingAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Staff moderate comments; a doctor sees the feedback on their own visits (without patients'
    names: ratings are anonymous to everyone but the clinic)."""

    list_display = ("visit", "doctor", "score_stars", "comment_excerpt", "moderation_badge", "rated_at")
    list_filter = ("moderation", "score")
    search_fields = ("comment", "doctor__user__first_name", "doctor__user__last_name", "=appointment__id")
    list_select_related = ("doctor__user", "appointment")
    list_before_template = "admin/operations/feedback_summary.html"
    fields = ("visit", "doctor", "patient", "score", "comment", "rated_at", "moderation", "moderated_at")
    readonly_fields = (*fields, "moderated_by")
    actions_detail = ["publish_detail", "withhold_detail"]

    def get_queryset(self, request):
        qs = super().get_queryset(request).filter(score__isnull=False)
        if _is_doctor(request.user):
            return qs.filter(doctor__user=request.user)
        return qs

    def get_list_display(self, request):
        if _is_doctor(request.user):
            return ("visit", "score_stars", "comment", "moderation_badge", "rated_at")
        return self.list_display

    def get_fields(self, request, obj=None):
        if _is_doctor(request.user):
            return tuple(name for name in self.fields if name != "patient")
        return self.fields

    def changelist_view(self, request, extra_context=None):
        from workflows.operations.selectors import MIN_RATINGS_FOR_AVERAGE, rating_summary

        extra_context = extra_context or {}
        doctor = getattr(request.user, "doctor", None) if _is_doctor(request.user) else None
        if doctor is not None:
            extra_context["feedback_summary"] = rating_summary(doctor.pk)
            extra_context["min_ratings"] = MIN_RATINGS_FOR_AVERAGE
        return super().changelist_view(request, extra_context)

    @display(description=_("visit"), ordering="appointment__starts_at")
    def visit(self, obj):
        starts = obj.appointment.starts_at
        # the day in the reader's time zone and language ("Thu 3 Dec" / "Thứ Năm, 3 thg 12"), not a UTC date
        return f"#{obj.appointment_id} · {short_day_text(starts)}" if starts else f"#{obj.appointment_id}"

    @display(description=_("rating"), ordering="score")
    def score_stars(self, obj):
        return "★" * obj.score + "☆" * (5 - obj.score)

    @display(description=_("comment"))
    def comment_excerpt(self, obj):
        return obj.comment if len(obj.comment) <= 80 else obj.comment[:79] + "…"

    @display(description=_("moderation"), label=MODERATION_COLOURS)
    def moderation_badge(self, obj):
        return obj.moderation, obj.get_moderation_display()

    # moderation buttons (staff and clinic admins)

    def _may_moderate(self, request, object_id, *states) -> bool:
        user = request.user
        if not (user.is_superuser or user.role in {Role.ADMIN, Role.STAFF}):
            return False
        rating = find(self.get_queryset(request), object_id) if object_id is not None else None
        return rating is not None and rating.moderation in states

    def has_publish_detail_permission(self, request, object_id=None):
        return self._may_moderate(request, object_id, Moderation.PENDING, Moderation.REJECTED)

    def has_withhold_detail_permission(self, request, object_id=None):
        return self._may_moderate(request, object_id, Moderation.PENDING, Moderation.APPROVED)

    def _moderate(self, request, object_id, *, approve: bool, done):
        rating = find(self.get_queryset(request), object_id)
        if rating is None:
            raise Http404
        return run_service(
            request,
            lambda: svc.rating_moderate(rating=rating, actor=request.user, approve=approve),
            done,
            back=reverse("admin:operations_visitrating_change", args=[object_id]),
        )

    @button(
        description=_("Publish comment"),
        permissions=["publish_detail"],
        icon="check_circle",
        variant=ActionVariant.SUCCESS,
        dialog=confirm_dialog(
            title=_("Publish this comment"),
            submit=_("Publish"),
            consequence=_says_rating(
                _(
                    "The comment on visit #%(number)s is shown on %(doctor)s's public profile, without the patient's name."
                )
            ),
        ),
    )
    def publish_detail(self, request, form, object_id):
        return self._moderate(request, object_id, approve=True, done=_("The comment is published."))

    @button(
        description=_("Withhold comment"),
        permissions=["withhold_detail"],
        icon="block",
        variant=ActionVariant.DANGER,
        dialog=confirm_dialog(
            title=_("Withhold this comment"),
            submit=_("Withhold"),
            consequence=_says_rating(
                _("The comment on visit #%(number)s is not shown publicly; its rating still counts for %(doctor)s.")
            ),
        ),
    )
    def withhold_detail(self, request, form, object_id):
        return self._moderate(request, object_id, approve=False, done=_("The comment is withheld."))


# --- the waitlist ---------------------------------------------------------------------------------


class WaitlistAdminMixin(ReadOnlyAdminMixin):
    """Read-only lists for the front desk: who waits for whom, and what was offered. Changes happen
    in the portal (the patient) and in the refill sweep; a doctor sees the lists for their own visits."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if _is_doctor(request.user):
            return qs.filter(**{self.doctor_path: request.user})
        return qs


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(WaitlistAdminMixin, ModelAdmin):
    doctor_path = "doctor__user"
    list_display = ("patient", "doctor", "date_from", "date_to", "part_of_day", "mode", "status", "created_at")
    list_filter = ("status", "part_of_day", "mode", "doctor")
    search_fields = ("patient__email", "patient__first_name", "patient__last_name")
    list_select_related = ("patient", "doctor__user")
    readonly_fields = ("patient", "doctor", "date_from", "date_to", "part_of_day", "mode", "status", "created_at")
    fields = readonly_fields


@admin.register(SlotOffer)
class SlotOfferAdmin(WaitlistAdminMixin, ModelAdmin):
    doctor_path = "slot__doctor__user"
    list_display = ("slot", "patient", "status", "offered_at", "expires_at", "answered_at")
    list_filter = ("status",)
    list_select_related = ("slot__doctor__user", "entry__patient")
    readonly_fields = ("slot", "entry", "status", "offered_at", "expires_at", "answered_at", "appointment")
    fields = readonly_fields

    @display(description=_("patient"), ordering="entry__patient__last_name")
    def patient(self, obj):
        return obj.entry.patient


# --- check-in and the waiting-room queue ----------------------------------------------------------


def _uuid_prefix(code: str) -> str:
    """How a booking code (the first 8 hex digits of ``public_id``) starts the id as the database
    writes it: "3f2a1b4c" on both SQLite (hex) and PostgreSQL (``uuid::text``)."""
    return str(uuid.UUID(code.lower() + "0" * 24))[:8]


def _is_front_desk(user) -> bool:
    return user.is_active and (user.is_superuser or user.role in {Role.ADMIN, Role.STAFF})


def queue_sidebar_permission(request) -> bool:
    """Who sees "Queue" in the sidebar: doctors (their own patients) and the front desk."""
    return request.user.is_active and request.user.has_perm("operations.view_checkin")


def _action_link(url: str, label, *, primary: bool = False) -> str:
    """A link to a button's URL: it opens the button's confirmation page, which acts on POST only."""
    css = "bg-primary-600 text-white" if primary else "border border-base-300 dark:border-base-700"
    return format_html(
        '<a class="inline-block rounded-default px-2 py-1 text-sm font-medium whitespace-nowrap {}" href="{}">{}</a>',
        css,
        url,
        label,
    )


def _says_arrival(request, object_id) -> str:
    visit = find(Arrival.objects.select_related("doctor__user"), object_id)
    if visit is None:
        return ""
    return _("%(name)s (booking code %(code)s) gets the next queue number for %(doctor)s.") % {
        "name": visit.patient_name,
        "code": visit.booking_code,
        "doctor": visit.doctor,
    }


@admin.register(Arrival)
class ArrivalAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """The front desk's "Check in" list: today's in-person visits that may be checked in
    (``booking.rules.check_in_today_q``), found by name, phone or booking code."""

    list_display = ("time", "patient_name", "booking_code", "phone", "doctor", "place", "check_in_column")
    list_display_links = None
    list_select_related = ("doctor__user", "slot__availability__facility", "slot__availability__room", "check_in")
    search_fields = ("last_name", "first_name", "phone", "email")
    search_help_text = _("Name, phone or booking code (the code under the patient's QR code).")
    list_per_page = 50
    fields = ("patient_name", "booking_code", "phone", "doctor", "starts_at", "mode", "status")
    readonly_fields = fields
    actions_detail = ["check_in_detail"]
    ordering = ("starts_at", "id")

    def has_view_permission(self, request, obj=None):
        return _is_front_desk(request.user) and super().has_view_permission(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(rules.check_in_today_q(now=timezone.now()))

    def get_search_results(self, request, queryset, search_term):
        """A booking code (8 hex digits, as under the QR code) finds its visit; digits find a phone
        number however it was written (spaces, dots, dashes); anything else searches the names."""
        term = search_term.strip()
        code = term.upper().removeprefix("MB-").replace(" ", "")
        digits = re.sub(r"[\s.\-()+]", "", term)
        found = Q()
        if re.fullmatch(r"[0-9A-F]{8}", code):
            found |= Q(public_id__istartswith=_uuid_prefix(code))
        if digits.isdigit() and len(digits) >= 4:
            compact = Replace(
                Replace(Replace("phone", Value(" "), Value("")), Value("."), Value("")), Value("-"), Value("")
            )
            queryset = queryset.annotate(compact_phone=compact)
            found |= Q(compact_phone__contains=digits.lstrip("0"))
        if found:
            return queryset.filter(found), False
        return super().get_search_results(request, queryset, term)

    @display(description=_("time"), ordering="starts_at")
    def time(self, obj):
        return timezone.localtime(obj.starts_at).strftime("%H:%M")

    @display(description=_("patient"), ordering="last_name")
    def patient_name(self, obj):
        return obj.patient_name

    @display(description=_("booking code"))
    def booking_code(self, obj):
        return obj.booking_code

    @display(description=_("place"))
    def place(self, obj):
        room = obj.room
        return f"{obj.facility.name} · {room.name}" if room else (obj.facility.name if obj.facility else "—")

    @display(description=_("check-in"))
    def check_in_column(self, obj):
        done = getattr(obj, "check_in", None) if hasattr(obj, "check_in") else None
        if done is not None:
            return _("No. %(number)s · %(status)s") % {"number": done.number, "status": done.get_status_display()}
        return _action_link(
            reverse("admin:operations_arrival_check_in_detail", args=[obj.pk]), _("Check in"), primary=True
        )

    def has_check_in_detail_permission(self, request, object_id=None):
        visit = find(self.get_queryset(request), object_id) if object_id is not None else None
        if visit is None or CheckIn.objects.filter(appointment_id=visit.pk).exists():
            return False
        return rules.refusal(rules.Action.CHECK_IN, appointment=visit, user=request.user, now=timezone.now()) is None

    @button(
        description=_("Check in"),
        permissions=["check_in_detail"],
        icon="how_to_reg",
        variant=ActionVariant.PRIMARY,
        dialog=confirm_dialog(title=_("Check this patient in"), submit=_("Check in"), consequence=_says_arrival),
    )
    def check_in_detail(self, request, form, object_id):
        visit = find(self.get_queryset(request), object_id)
        if visit is None:
            raise Http404
        try:
            check_in = svc.check_in_arrive(appointment=visit, actor=request.user)
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            text = _("%(name)s is checked in: queue number %(number)s.") % {
                "name": visit.patient_name,
                "number": check_in.number,
            }
            if check_in.is_late:
                text += " " + _("Arrived %(minutes)s minutes late.") % {"minutes": check_in.minutes_late}
            messages.success(request, text)
        return HttpResponseRedirect(reverse("admin:operations_arrival_changelist"))


class CallNextForm(ConfirmForm):
    """Whose next patient: a doctor calls their own; the front desk picks the doctor."""

    doctor = forms.ModelChoiceField(label=_("Doctor"), queryset=Doctor.objects.none(), required=False)

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        user = request.user if request is not None else None
        if user is not None and _is_front_desk(user):
            waiting = CheckIn.objects.filter(status=QueueStatus.ARRIVED, day=rules.clinic_day(timezone.now()))
            self.fields["doctor"].queryset = Doctor.objects.filter(pk__in=waiting.values("doctor_id")).select_related(
                "user"
            )
            self.fields["doctor"].required = True
        else:
            del self.fields["doctor"]


def _says_check_in(text):
    def consequence(request, object_id) -> str:
        row = find(CheckIn.objects.select_related("appointment", "room", "doctor__user"), object_id)
        if row is None:
            return ""
        room = row.room.name if row.room_id else str(row.doctor)
        return text % {"number": row.number, "name": row.appointment.patient_name, "room": room}

    return consequence


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Today's waiting room: the front desk sees every patient checked in, a doctor their own. "Call
    next" (the list's button) calls the doctor's next waiting patient into their room; each row moves
    on with Call, Start and Done. Every button asks first and calls a service."""

    list_display = ("number", "patient", "doctor", "room", "status_badge", "arrived", "late")
    list_display_links = ("number",)
    list_filter = ("status", "facility", "doctor")
    search_fields = ("appointment__last_name", "appointment__first_name", "=number")
    list_select_related = ("appointment", "doctor__user", "room", "facility")
    fields = (
        "number",
        "patient",
        "doctor",
        "facility",
        "room",
        "day",
        "status",
        "checked_in_at",
        "checked_in_by",
        "minutes_late",
        "called_at",
        "called_by",
        "consultation_started_at",
        "done_at",
    )
    readonly_fields = fields
    actions_list = ["call_next"]
    actions_detail = ["call_detail", "start_detail", "finish_detail"]
    ordering = ("number",)

    def get_queryset(self, request):
        qs = super().get_queryset(request).filter(day=rules.clinic_day(timezone.now()))
        if _is_doctor(request.user):
            return qs.filter(doctor__user=request.user)
        return qs if _is_front_desk(request.user) else qs.none()

    @display(description=_("patient"), ordering="appointment__last_name")
    def patient(self, obj):
        return obj.appointment.patient_name

    @display(
        description=_("status"),
        label={"arrived": "warning", "called": "info", "in_consultation": "primary", "done": "success"},
    )
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description=_("checked in"), ordering="checked_in_at")
    def arrived(self, obj):
        return timezone.localtime(obj.checked_in_at).strftime("%H:%M")

    @display(description=_("arrived late"), ordering="minutes_late")
    def late(self, obj):
        return _("%(minutes)s min") % {"minutes": obj.minutes_late} if obj.is_late else "—"

    def get_list_display(self, request):
        """The last column links to the row's next step that this user may take (the rules decide)."""

        @display(description=_("next step"))
        def next_step(obj):
            for name, label in (("call_detail", _("Call")), ("start_detail", _("Start")), ("finish_detail", _("Done"))):
                if svc.queue_refusal(obj, user=request.user, transition=STEP_TRANSITIONS[name]) is None:
                    return _action_link(reverse(f"admin:operations_checkin_{name}", args=[obj.pk]), label)
            return ""

        return (*self.list_display, next_step)

    def _may(self, request, object_id, transition) -> bool:
        row = find(self.get_queryset(request).select_related("doctor"), object_id) if object_id is not None else None
        return row is not None and svc.queue_refusal(row, user=request.user, transition=transition) is None

    def has_call_detail_permission(self, request, object_id=None):
        return self._may(request, object_id, "call")

    def has_start_detail_permission(self, request, object_id=None):
        return self._may(request, object_id, "start_consultation")

    def has_finish_detail_permission(self, request, object_id=None):
        return self._may(request, object_id, "finish")

    def has_call_next_permission(self, request, object_id=None):
        user = request.user
        return self.has_view_permission(request) and (_is_front_desk(user) or hasattr(user, "doctor"))

    def _back(self, object_id=None):
        return reverse("admin:operations_checkin_changelist")

    def _step(self, request, object_id, work, done):
        row = find(self.get_queryset(request), object_id)
        if row is None:
            raise Http404
        return run_service(request, lambda: work(check_in=row, actor=request.user), done, back=self._back())

    @button(
        description=_("Call next"),
        permissions=["call_next"],
        icon="campaign",
        variant=ActionVariant.PRIMARY,
        url_path="call-next",
        dialog=confirm_dialog(
            title=_("Call the next patient"),
            description=_("The next waiting patient is called to the room; the waiting-room screen shows it."),
            submit=_("Call next"),
            form_class=CallNextForm,
        ),
    )
    def call_next(self, request, form, object_id=None):
        doctor = form.cleaned_data.get("doctor") or getattr(request.user, "doctor", None)
        if doctor is None:
            raise Http404
        try:
            row = svc.queue_call_next(doctor=doctor, actor=request.user)
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            room = row.room.name if row.room_id else str(row.doctor)
            messages.success(
                request,
                _("Number %(number)s (%(name)s) is called to %(room)s.")
                % {"number": row.number, "name": row.appointment.patient_name, "room": room},
            )
        return HttpResponseRedirect(self._back())

    @button(
        description=_("Call"),
        permissions=["call_detail"],
        icon="campaign",
        variant=ActionVariant.PRIMARY,
        dialog=confirm_dialog(
            title=_("Call this patient"),
            submit=_("Call"),
            consequence=_says_check_in(_("Number %(number)s (%(name)s) is called to %(room)s.")),
        ),
    )
    def call_detail(self, request, form, object_id):
        return self._step(request, object_id, svc.check_in_call, _("The patient is called."))

    @button(
        description=_("Start consultation"),
        permissions=["start_detail"],
        icon="stethoscope",
        dialog=confirm_dialog(
            title=_("Start the consultation"),
            submit=_("Start"),
            consequence=_says_check_in(_("Number %(number)s (%(name)s) is in the consultation room.")),
        ),
    )
    def start_detail(self, request, form, object_id):
        return self._step(request, object_id, svc.check_in_start, _("The consultation has started."))

    @button(
        description=_("Done"),
        permissions=["finish_detail"],
        icon="task_alt",
        variant=ActionVariant.SUCCESS,
        dialog=confirm_dialog(
            title=_("Finish this patient's visit in the queue"),
            submit=_("Done"),
            consequence=_says_check_in(
                _("Number %(number)s (%(name)s) leaves the queue. The appointment itself is completed separately.")
            ),
        ),
    )
    def finish_detail(self, request, form, object_id):
        return self._step(request, object_id, svc.check_in_finish, _("Done: the patient left the queue."))


STEP_TRANSITIONS = {"call_detail": "call", "start_detail": "start_consultation", "finish_detail": "finish"}


class BoardFacilityForm(ConfirmForm):
    facility = forms.ModelChoiceField(
        label=_("Facility"), queryset=Facility.objects.filter(is_active=True, queue_board__isnull=True)
    )


def _says_board(request, object_id) -> str:
    board = find(QueueBoard.objects.select_related("facility"), object_id)
    return (
        _("The screen of %(facility)s stops showing the queue until it opens the new link.")
        % {"facility": board.facility.name}
        if board is not None
        else ""
    )


@admin.register(QueueBoard)
class QueueBoardAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Each facility's waiting-room screen: its secret link (in English and Vietnamese) and a button to
    replace it when it got out."""

    list_display = ("facility", "created_at", "rotated_at")
    list_select_related = ("facility",)
    fields = ("facility", "links", "created_at", "rotated_at")
    readonly_fields = fields
    actions_list = ["create_board"]
    actions_detail = ["renew_detail"]

    def has_view_permission(self, request, obj=None):
        return _is_front_desk(request.user) and super().has_view_permission(request, obj)

    @display(description=_("screen links"))
    def links(self, obj):
        url = board_url(obj)
        return format_html(
            '<p><a class="text-primary-600 underline" href="{}?lang=en" target="_blank" rel="noopener">{}</a></p>'
            '<p><a class="text-primary-600 underline" href="{}?lang=vi" target="_blank" rel="noopener">{}</a></p>'
            '<p class="mt-2 text-sm">{}</p>',
            url,
            _("Open the screen in English"),
            url,
            _("Open the screen in Vietnamese"),
            _(
                "Open one of these links on the waiting-room TV. It needs no login and shows only queue numbers, "
                "initials and rooms; make a new link if it got out."
            ),
        )

    def has_create_board_permission(self, request, object_id=None):
        return _is_front_desk(request.user) and self.has_view_permission(request)

    def has_renew_detail_permission(self, request, object_id=None):
        return _is_front_desk(request.user) and find(self.get_queryset(request), object_id) is not None

    @button(
        description=_("Board for a facility"),
        permissions=["create_board"],
        icon="tv",
        variant=ActionVariant.PRIMARY,
        url_path="create-board",
        dialog=confirm_dialog(
            title=_("A queue board for a facility"),
            description=_("A secret link to the facility's waiting-room screen."),
            submit=_("Create"),
            form_class=BoardFacilityForm,
        ),
    )
    def create_board(self, request, form, object_id=None):
        try:
            board = svc.queue_board_renew(facility=form.cleaned_data["facility"], actor=request.user)
        except DomainError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("admin:operations_queueboard_changelist"))
        messages.success(request, _("The queue board's link is ready."))
        return HttpResponseRedirect(reverse("admin:operations_queueboard_change", args=[board.pk]))

    @button(
        description=_("New link"),
        permissions=["renew_detail"],
        icon="autorenew",
        variant=ActionVariant.DANGER,
        dialog=confirm_dialog(title=_("Make a new screen link"), submit=_("New link"), consequence=_says_board),
    )
    def renew_detail(self, request, form, object_id):
        board = find(self.get_queryset(request), object_id)
        if board is None:
            raise Http404
        return run_service(
            request,
            lambda: svc.queue_board_renew(facility=board.facility, actor=request.user),
            _("The screen has a new link; the old one no longer works."),
            back=reverse("admin:operations_queueboard_change", args=[object_id]),
        )
