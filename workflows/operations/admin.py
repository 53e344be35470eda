"""Clinic operations in the admin.

Calendar feeds: a doctor's workspace page "My calendar feed" shows their private link and lets them
make a new one, choose whether names show, or switch it off; clinic admins see every feed (to switch
off a link that got out). Every button asks first and calls a service (``core.admin_actions``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.enums import ActionVariant

from accounts.models import Role
from core.admin_actions import ConfirmForm, ReadOnlyAdminMixin, button, confirm_dialog, find, run_service
from core.errors import DomainError
from workflows.operations import services as svc
from workflows.operations.models import CalendarFeed, Moderation, SlotOffer, VisitRating, WaitlistEntry
from workflows.operations.selectors import active_feed, feed_url, feed_webcal_url


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
        return f"#{obj.appointment_id} · {starts:%Y-%m-%d}" if starts else f"#{obj.appointment_id}"

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
    list_display = ("patient", "doctor", "date_from", "date_to", "part_of_day", "status", "created_at")
    list_filter = ("status", "part_of_day", "doctor")
    search_fields = ("patient__email", "patient__first_name", "patient__last_name")
    list_select_related = ("patient", "doctor__user")
    readonly_fields = ("patient", "doctor", "date_from", "date_to", "part_of_day", "status", "created_at")
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
