"""Losing a race is gentle on every path of the one picker (issue 18 item 3): a reschedule or a
follow-up whose chosen time someone else took meanwhile stays on the picker with a visible warning
and the nearest free times as buttons, like booking does; choosing one leads to the confirmation."""

import re

from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, AppointmentStatus
from tests.booking.appointments.helpers import completed_visit, details_for
from tests.portal.test_booking_policy import held, main_of

S = AppointmentStatus


def offered_in(html: str) -> list[str]:
    """The alternatives' slot ids: GET buttons named ``slot`` inside the race-lost warning."""
    warning = re.search(
        r'<div class="notice notice-danger race-lost" role="alert" id="race-lost">(.*?)</div>', html, re.S
    )
    assert warning, "no race-lost warning on the page"
    return re.findall(r'<button type="submit" name="slot" value="(\d+)"', warning.group(1))


def test_a_reschedule_to_a_time_just_taken_stays_on_the_picker_and_offers_the_nearest_free_times(
    client, week_slots, patient_dao, patient_lan
):
    appointment = held(week_slots[0], patient_dao)
    wanted = week_slots[3]
    client.force_login(patient_dao)
    url = f"/portal/appointments/{appointment.public_id}/reschedule/"
    assert "Yes, move my visit" in main_of(client.get(url, {"slot": wanted.pk}))  # the patient sees it free
    held(wanted, patient_lan)  # someone else gets it before the patient confirms

    lost = client.post(url, {"slot": wanted.pk})
    html = main_of(lost)
    assert lost.status_code == 200 and "Someone else has just taken that time." in html
    assert "data-picker" in html and "Yes, move my visit" not in html  # back on the picker, nothing to confirm
    offered = offered_in(html)
    assert offered and str(wanted.pk) not in offered and str(week_slots[0].pk) not in offered
    assert Appointment.objects.get(pk=appointment.pk).slot_id == week_slots[0].pk

    chosen = main_of(client.get(url, {"slot": offered[0]}))  # an offered button opens the confirmation
    assert f'<input type="hidden" name="slot" value="{offered[0]}">' in chosen and "Yes, move my visit" in chosen
    client.post(url, {"slot": offered[0]})
    assert Appointment.objects.get(pk=appointment.pk).slot_id == int(offered[0])


def test_a_follow_up_time_just_taken_stays_on_the_picker_and_offers_the_nearest_free_times(
    client, week_slots, doctor_binh, patient_dao, patient_lan
):
    suggested = week_slots[4]
    local = timezone.localtime(suggested.start, doctor_binh.zone)
    suggestion = svc.follow_up_suggest(
        doctor_user=doctor_binh.user,
        patient=patient_dao,
        parent=completed_visit(doctor_binh, patient_dao, days_ago=3),
        suggested_date=local.date(),
        suggested_time=local.time(),
    )
    client.force_login(patient_dao)
    url = f"/portal/follow-ups/{suggestion.public_id}/schedule/"
    assert f'name="slot" value="{suggested.pk}"' in main_of(client.get(url))
    svc.appointment_book(slot=suggested, patient=patient_lan, actor=patient_lan, details=details_for(patient_lan))

    lost = client.post(url, {"slot": suggested.pk})
    html = main_of(lost)
    assert lost.status_code == 200 and "Someone else has just taken that time." in html
    assert "Hold this time and continue to payment" not in html
    offered = offered_in(html)
    assert offered and str(suggested.pk) not in offered
    suggestion.refresh_from_db()
    assert suggestion.status == S.PENDING_PATIENT_CONFIRMATION

    client.post(url, {"slot": offered[0]})
    suggestion.refresh_from_db()
    assert suggestion.slot_id == int(offered[0]) and suggestion.status != S.PENDING_PATIENT_CONFIRMATION


def test_the_warning_is_vietnamese_for_a_vietnamese_patient(client, week_slots, patient_dao, patient_lan):
    appointment = held(week_slots[0], patient_dao)
    client.force_login(patient_dao)
    client.cookies["django_language"] = "vi"
    held(week_slots[3], patient_lan)
    html = main_of(client.post(f"/portal/appointments/{appointment.public_id}/reschedule/", {"slot": week_slots[3].pk}))
    assert offered_in(html) and "Someone else" not in html and "no longer free" not in html
