"""Policies before they bite, and a lost race that keeps what was typed (issue 18 items 2 and 3): the
change rules of a time in one sentence with its deadline in the patient's zone and language, the
late-window warning, Reschedule/Cancel disabled with the reason, "from → to" before a move, the
follow-up picker on the doctor's suggestion, and the race loser choosing an offered alternative."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format

from accounts.services import user_set_preferences
from booking import rules
from booking import services as svc
from booking.models import Appointment, AppointmentStatus, BookingDefaults
from tests.booking.appointments.helpers import completed_visit, details_for
from tests.factories import publish_slots

S = AppointmentStatus
TOKYO = ZoneInfo("Asia/Tokyo")


def held(slot, patient):
    return svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))


def typed(wanted, /, **extra):
    return {
        "slot": wanted.pk,
        "first_name": "Đào",
        "last_name": "Typed-by-hand",
        "phone": "0901 234 567",
        "email": "dao.typed@example.test",
        "reason": "Ho kéo dài hai tuần",
        **extra,
    }


def main_of(response) -> str:
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


@pytest.fixture
def soon_slot(doctor_binh):
    """A time five hours ahead: bookable (2 h minimum notice) but inside the 24 h late window."""
    return publish_slots(doctor_binh, start=(timezone.now() + timedelta(hours=5)).replace(microsecond=0), count=1)[0]


def test_change_terms_put_the_deadline_one_notice_before_the_start_and_late_after_it(doctor_binh):
    policy = doctor_binh.policy()
    start = timezone.now().replace(microsecond=0) + timedelta(days=2)
    deadline = start - timedelta(hours=24)
    on_time = rules.change_terms(starts_at=start, now=deadline, policy=policy)
    assert on_time.deadline == deadline and not on_time.late and on_time.notice_hours == 24
    assert rules.change_terms(starts_at=start, now=deadline + timedelta(seconds=1), policy=policy).late


def test_booking_page_states_the_deadline_in_the_patients_zone(client, week_slots, doctor_binh, patient_dao):
    user_set_preferences(user=patient_dao, time_zone="Asia/Tokyo")
    client.force_login(patient_dao)
    slot = week_slots[0]
    html = main_of(client.get(f"/portal/book/{doctor_binh.pk}/", {"slot": slot.pk}))
    deadline = date_format((slot.start - timedelta(hours=24)).astimezone(TOKYO), "D j M, H:i")
    assert f"Free cancellation and rescheduling until {deadline}; after that" in html
    assert "is not refunded" in html and "Inside the late window" not in html
    # the sentence sits before the button that holds the time and leads to payment
    assert html.index("Free cancellation") < html.index("Hold this time and continue to payment")


def test_booking_page_states_the_refund_share_the_clinic_set(client, week_slots, doctor_binh, patient_dao):
    BookingDefaults.objects.update_or_create(pk=1, defaults={"late_cancellation_refund_percent": 50})
    client.force_login(patient_dao)
    html = main_of(client.get(f"/portal/book/{doctor_binh.pk}/", {"slot": week_slots[0].pk}))
    assert "a cancellation refunds 50%." in html


def test_a_time_inside_the_late_window_is_booked_with_a_warning(client, soon_slot, doctor_binh, patient_dao):
    client.force_login(patient_dao)
    html = main_of(client.get(f"/portal/book/{doctor_binh.pk}/", {"slot": soon_slot.pk}))
    warning = re.search(r'<div class="notice notice-danger policy-late" role="alert">(.*?)</div>', html, re.S)
    assert warning is not None
    assert "Inside the late window." in warning.group(1) and "less than 24 hours away" in warning.group(1)
    assert "Free cancellation and rescheduling until" not in html


def test_the_policy_sentence_is_vietnamese_for_a_vietnamese_patient(client, week_slots, doctor_binh, patient_dao):
    client.force_login(patient_dao)
    client.cookies["django_language"] = "vi"
    slot = week_slots[0]
    html = main_of(client.get(f"/portal/book/{doctor_binh.pk}/", {"slot": slot.pk}))
    with translation.override("vi"):
        deadline = date_format(timezone.localtime(slot.start - timedelta(hours=24)), "l, j \\t\\h\\g n, H:i")
    # the portal's one short style ("Thứ Hai, 7 thg 12, 10:00"), never the long "7 tháng 12"
    assert f"Miễn phí hủy và đổi lịch đến {deadline}" in html
    assert "Free cancellation" not in html and "tháng" not in html.lower()


def test_the_race_loser_keeps_what_they_typed_and_chooses_an_offered_time(
    client, week_slots, doctor_binh, patient_dao, patient_lan
):
    client.force_login(patient_dao)
    wanted = week_slots[2]
    client.get(f"/portal/book/{doctor_binh.pk}/", {"slot": wanted.pk})
    held(wanted, patient_lan)  # someone else gets it between page load and submit

    lost = client.post(f"/portal/book/{doctor_binh.pk}/", typed(wanted))
    html = main_of(lost)
    assert lost.status_code == 200 and "Someone else has just taken that time." in html
    assert (
        'value="Typed-by-hand"' in html and "Ho kéo dài hai tuần" in html and 'value="dao.typed@example.test"' in html
    )
    offered = re.findall(
        r'<button type="submit" form="booking-form" formnovalidate name="choose_slot" value="(\d+)"', html
    )
    assert offered and str(wanted.pk) not in offered
    assert 'name="slot" value=' not in html  # nothing to hold until a free time is chosen

    chosen = client.post(f"/portal/book/{doctor_binh.pk}/", typed(wanted, choose_slot=offered[0]))
    html = main_of(chosen)
    assert f'<input type="hidden" name="slot" value="{offered[0]}">' in html
    assert 'value="Typed-by-hand"' in html and "Ho kéo dài hai tuần" in html
    assert "Free cancellation and rescheduling until" in html
    assert not Appointment.objects.filter(patient=patient_dao).exists()  # choosing is not booking

    booked = client.post(f"/portal/book/{doctor_binh.pk}/", typed(wanted, slot=offered[0]))
    appointment = Appointment.objects.get(patient=patient_dao)
    assert booked["Location"] == f"/portal/appointments/{appointment.public_id}/"
    assert appointment.slot_id == int(offered[0]) and appointment.last_name == "Typed-by-hand"


def test_my_appointments_disable_reschedule_inside_the_late_window_with_the_reason(
    client, week_slots, soon_slot, patient_dao, staff_binh
):
    late = held(soon_slot, patient_dao)
    on_time = held(week_slots[0], patient_dao)
    for appointment in (late, on_time):
        svc.payment_mark_cash_paid(appointment=appointment, actor=staff_binh)
    client.force_login(patient_dao)
    html = main_of(client.get("/portal/appointments/"))
    late_row = html[html.index(f"/portal/appointments/{late.public_id}/") :]
    late_row = late_row[: late_row.index("</article>")]
    assert re.search(r'<button type="button" class="button-secondary" disabled[^>]*>Reschedule</button>', late_row)
    assert "It is too close to the visit to reschedule." in late_row
    assert f"/portal/appointments/{late.public_id}/reschedule/" not in late_row
    assert f"/portal/appointments/{late.public_id}/cancel/" in late_row  # cancelling late is allowed
    on_time_row = html[html.index(f"/portal/appointments/{on_time.public_id}/") :]
    on_time_row = on_time_row[: on_time_row.index("</article>")]
    assert f"/portal/appointments/{on_time.public_id}/reschedule/" in on_time_row
    assert "Free cancellation and rescheduling until" in on_time_row and "disabled" not in on_time_row
    detail = main_of(client.get(f"/portal/appointments/{late.public_id}/"))
    assert "It is too close to the visit to reschedule." in detail and "Inside the late window." in detail


def test_reschedule_shows_from_and_to_and_moves_only_when_confirmed(client, week_slots, patient_dao):
    appointment = held(week_slots[0], patient_dao)
    client.force_login(patient_dao)
    url = f"/portal/appointments/{appointment.public_id}/reschedule/"
    page = main_of(client.get(url, {"slot": week_slots[3].pk}))
    summary = re.search(r'<p class="move-summary">(.*?)</p>', page, re.S).group(1)
    when = lambda slot: date_format(timezone.localtime(slot.start), "D j M, H:i")  # noqa: E731
    assert when(week_slots[0]) in summary and "→" in summary and when(week_slots[3]) in summary
    assert summary.index(when(week_slots[0])) < summary.index(when(week_slots[3]))
    assert "Yes, move my visit" in page
    assert Appointment.objects.get(pk=appointment.pk).slot_id == week_slots[0].pk  # looking moves nothing
    client.post(url, {"slot": week_slots[3].pk})
    assert Appointment.objects.get(pk=appointment.pk).slot_id == week_slots[3].pk


def test_reschedule_inside_the_late_window_goes_back_with_the_reason(client, soon_slot, week_slots, patient_dao):
    appointment = held(soon_slot, patient_dao)
    client.force_login(patient_dao)
    response = client.get(f"/portal/appointments/{appointment.public_id}/reschedule/", {"slot": week_slots[0].pk})
    assert response["Location"] == f"/portal/appointments/{appointment.public_id}/"
    assert "too close to the visit" in main_of(client.get(response["Location"]))


def test_the_follow_up_picker_preselects_the_free_time_nearest_the_doctors_suggestion(
    client, week_slots, doctor_binh, patient_dao
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
    html = main_of(client.get(f"/portal/follow-ups/{suggestion.public_id}/schedule/"))
    assert f'<input type="hidden" name="slot" value="{suggested.pk}">' in html
    assert re.search(rf'value="{suggested.pk}" aria-pressed="true"', html)
    assert "Free cancellation and rescheduling until" in html
    suggestion.refresh_from_db()
    assert suggestion.status == S.PENDING_PATIENT_CONFIRMATION  # shown, not yet taken


def test_the_cancel_page_names_the_free_cancellation_deadline(client, week_slots, patient_dao):
    appointment = held(week_slots[0], patient_dao)
    client.force_login(patient_dao)
    page = main_of(client.get(f"/portal/appointments/{appointment.public_id}/cancel/"))
    deadline = date_format(timezone.localtime(week_slots[0].start - timedelta(hours=24)), "D j M, H:i")
    assert f"up to 24 hours before the visit, that is until {deadline}." in page
