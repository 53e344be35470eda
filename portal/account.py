"""Profile, medical record and notification centre."""
# (the medical record page is also "My health": signed visit summaries and shared documents)

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.services import (
    PROFILE_FIELDS,
    medical_record_update,
    medical_record_viewed,
    patient_profile_ensure,
    patient_profile_update,
)
from core.dates import zone_label
from portal.clinical import my_health
from portal.forms import MedicalRecordForm, ProfileForm, time_zone_datalist
from portal.views import patient_required
from workflows.operations.selectors import active_feed, feed_url, feed_webcal_url
from workflows.operations.services import calendar_feed_renew, calendar_feed_revoke, calendar_feed_set_names
from workflows.selectors import notification_preferences, recent_notifications
from workflows.services import notification_mark_read, notification_preference_set


@patient_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    patient = patient_profile_ensure(user=user)
    preferences = notification_preferences(user)
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone": patient.phone,
        "national_id": patient.national_id,
        "date_of_birth": patient.date_of_birth,
        "gender": patient.gender,
        "address": patient.address,
        "health_insurance_number": patient.health_insurance_number,
        "emergency_contact_name": patient.emergency_contact_name,
        "emergency_contact_phone": patient.emergency_contact_phone,
        "language": user.language or request.LANGUAGE_CODE,
        "time_zone": user.effective_time_zone,
        "email_notifications": preferences.email_enabled,
        "sms_notifications": preferences.sms_enabled,
    }
    form = ProfileForm(request.POST or None, initial=initial)
    form.fields["time_zone"].help_text = _("Now: %(zone)s. Type a city or a region to choose another one.") % {
        "zone": zone_label(user.effective_time_zone)
    }
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient_profile_update(
            user=user,
            actor=user,
            **{key: data[key] for key in ("first_name", "last_name", "language", "time_zone", *PROFILE_FIELDS)},
        )
        notification_preference_set(
            user=user, actor=user, email=data["email_notifications"], sms=data["sms_notifications"]
        )
        messages.success(request, _("Your profile is saved."))
        response = redirect("portal:profile")
        # the saved language wins over an older language-switcher cookie
        from django.conf import settings

        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, data["language"], samesite="Lax")
        return response
    feed = active_feed(user)
    context = {
        "form": form,
        "time_zone_datalist": time_zone_datalist(),
        "calendar_feed": feed,
        "calendar_feed_url": feed_url(feed) if feed else "",
        "calendar_feed_webcal_url": feed_webcal_url(feed) if feed else "",
    }
    return render(request, "portal/profile.html", context)


@patient_required
@require_POST
def calendar_feed_new(request):
    """A new private calendar link; the old one (if any) stops working at once."""
    calendar_feed_renew(user=request.user, actor=request.user, with_names=request.POST.get("with_names") == "on")
    messages.success(request, _("Your new calendar link is ready. Any old link no longer works."))
    return redirect(reverse("portal:profile") + "#calendar")


@patient_required
@require_POST
def calendar_feed_names(request):
    feed = active_feed(request.user)
    if feed is not None:
        calendar_feed_set_names(feed=feed, actor=request.user, with_names=request.POST.get("with_names") == "on")
        messages.success(request, _("Your calendar settings are saved."))
    return redirect(reverse("portal:profile") + "#calendar")


@patient_required
@require_POST
def calendar_feed_off(request):
    feed = active_feed(request.user)
    if feed is not None:
        calendar_feed_revoke(feed=feed, actor=request.user)
        messages.success(request, _("Your calendar link is switched off."))
    return redirect(reverse("portal:profile") + "#calendar")


@patient_required
@require_http_methods(["GET", "POST"])
def medical_record(request):
    profile = patient_profile_ensure(user=request.user)
    record = profile.medical_record
    form = MedicalRecordForm(request.POST or None, instance=record)
    if request.method == "POST" and form.is_valid():
        medical_record_update(user=request.user, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Your medical record is saved."))
        return redirect("portal:medical_record")
    if request.method == "GET":
        medical_record_viewed(profile=profile, actor=request.user, where="portal")
    health = my_health(request) if request.method == "GET" else None
    return render(request, "portal/medical_record.html", {"form": form, "health": health})


@patient_required
def notifications(request):
    return render(request, "portal/notifications.html", {"notifications": recent_notifications(request.user, 50)})


@patient_required
@require_POST
def notifications_read(request):
    ids = [int(value) for value in request.POST.getlist("id") if value.isdigit()]
    if ids:
        notification_mark_read(user=request.user, notification_ids=ids)
    else:
        notification_mark_read(user=request.user, all=True)
    # Only a page of this site: an outside address here would make the portal an open redirect.
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "portal:notifications"
    return redirect(target)
