"""The patient portal, page by page: find, book, pay, manage, follow-ups, profile."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, AppointmentStatus, Slot, SlotStatus
from core.models import AuditLog
from tests.booking.appointments.helpers import completed_visit, details_for, make_doctor
from tests.factories import publish_slots

S = AppointmentStatus


def held(slot, patient):
    return svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))


def test_search_lists_only_doctors_with_free_times(client, week_slots, doctor_binh):
    make_doctor("no.slots@clinic.test")
    html = client.get("/portal/doctors/", {"q": "binh"}, follow=True).content.decode()  # the one directory
    assert f"/portal/book/{doctor_binh.pk}/" in html
    assert "no.slots" not in html
    assert "500.000" in html or "500,000" in html


def test_search_query_count_does_not_grow_with_doctors(client, django_assert_max_num_queries, db):
    start = timezone.now() + timedelta(days=2)
    for i in range(3):
        publish_slots(make_doctor(f"d{i}@clinic.test"), start=start, count=2)
    with django_assert_max_num_queries(25) as few:
        client.get("/portal/doctors/", follow=True)
    for i in range(3, 12):
        publish_slots(make_doctor(f"d{i}@clinic.test"), start=start, count=2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/portal/doctors/", follow=True)


def test_booking_page_opens_the_week_of_the_next_free_time_with_its_days_as_tabs(client, week_slots, doctor_binh):
    day = timezone.localtime(week_slots[0].start).date()
    html = client.get(f"/portal/book/{doctor_binh.pk}/").content.decode()
    tab = re.search(rf'<a role="tab"[^>]*id="picker-tab-{day:%Y-%m-%d}"[^>]*>', html).group(0)
    assert 'aria-selected="true"' in tab and f'href="?day={day:%Y-%m-%d}"' in tab
    assert html.count('role="tab"') == 7
    assert f'value="{week_slots[0].pk}"' in html and "Next available" in html


def test_anonymous_picking_a_slot_is_offered_sign_in_that_returns_to_it(client, week_slots, doctor_binh):
    response = client.get(f"/portal/book/{doctor_binh.pk}/", {"slot": week_slots[1].pk})
    html = response.content.decode()
    assert f"/accounts/login/?next=%2Fportal%2Fbook%2F{doctor_binh.pk}%2F%3Fslot%3D{week_slots[1].pk}" in html
    assert "/accounts/signup/?next=" in html


def test_patient_books_a_slot_with_prefilled_details_then_pays_in_the_sandbox(
    client, week_slots, doctor_binh, patient_dao
):
    client.force_login(patient_dao)
    page = client.get(f"/portal/book/{doctor_binh.pk}/", {"slot": week_slots[0].pk}).content.decode()
    assert f'value="{patient_dao.email}"' in page
    response = client.post(
        f"/portal/book/{doctor_binh.pk}/",
        {
            "slot": week_slots[0].pk,
            "first_name": "Đào",
            "last_name": "Test",
            "phone": "0901 234 567",
            "email": patient_dao.email,
        },
    )
    appointment = Appointment.objects.get(patient=patient_dao)
    assert response["Location"] == f"/portal/appointments/{appointment.public_id}/"
    detail = client.get(response["Location"]).content.decode()
    assert "data-countdown" in detail and "Pay 500" in detail
    response = client.post(f"/portal/appointments/{appointment.public_id}/pay/", {"gateway": "sandbox"})
    checkout = response["Location"]
    assert checkout.startswith("/portal/pay/sandbox/")
    client.post(checkout, {"action": "pay"})
    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED
    page = client.get(f"/portal/appointments/{appointment.public_id}/").content.decode()
    assert "calendar.ics" in page and "Receipt" in page
    assert client.get(f"/portal/appointments/{appointment.public_id}/receipt/").status_code == 200


def test_double_submit_books_once(client, week_slots, doctor_binh, patient_dao):
    client.force_login(patient_dao)
    data = {
        "slot": week_slots[0].pk,
        "first_name": "Đào",
        "last_name": "Test",
        "phone": "0901 234 567",
        "email": patient_dao.email,
    }
    first = client.post(f"/portal/book/{doctor_binh.pk}/", data)
    second = client.post(f"/portal/book/{doctor_binh.pk}/", data)
    assert first["Location"] == second["Location"]
    assert Appointment.objects.filter(patient=patient_dao).count() == 1


def test_slot_taken_meanwhile_keeps_the_input_and_shows_alternatives(
    client, week_slots, doctor_binh, patient_dao, patient_lan
):
    client.force_login(patient_dao)
    client.get(f"/portal/book/{doctor_binh.pk}/", {"slot": week_slots[2].pk})
    held(week_slots[2], patient_lan)
    response = client.post(
        f"/portal/book/{doctor_binh.pk}/",
        {
            "slot": week_slots[2].pk,
            "first_name": "Đào",
            "last_name": "Kept",
            "phone": "0901 234 567",
            "email": patient_dao.email,
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "That time is no longer available" in html or "just taken" in html
    assert not Appointment.objects.filter(patient=patient_dao).exists()


def test_form_errors_keep_what_the_patient_typed(client, week_slots, doctor_binh, patient_dao):
    client.force_login(patient_dao)
    response = client.post(
        f"/portal/book/{doctor_binh.pk}/",
        {"slot": week_slots[0].pk, "first_name": "Đào", "last_name": "Kept", "phone": "", "email": "not-an-email"},
    )
    html = response.content.decode()
    assert 'value="Kept"' in html and "errorlist" in html
    assert Slot.objects.get(pk=week_slots[0].pk).status == SlotStatus.FREE


def test_cancel_shows_the_policy_then_cancels(client, week_slots, patient_dao, staff_binh):
    appointment = held(week_slots[0], patient_dao)
    svc.payment_mark_cash_paid(appointment=appointment, actor=staff_binh)
    client.force_login(patient_dao)
    page = client.get(f"/portal/appointments/{appointment.public_id}/cancel/").content.decode()
    assert "free of charge up to 24 hours" in page and "late cancellation" not in page
    client.post(f"/portal/appointments/{appointment.public_id}/cancel/", {"reason": "Better"})
    assert Appointment.objects.get(pk=appointment.pk).status == S.CANCELLED


def test_late_cancel_warns(client, doctor_binh, patient_dao, staff_binh):
    slot = publish_slots(doctor_binh, start=(timezone.now() + timedelta(hours=5)).replace(microsecond=0), count=1)[0]
    appointment = held(slot, patient_dao)
    svc.payment_mark_cash_paid(appointment=appointment, actor=staff_binh)
    client.force_login(patient_dao)
    page = client.get(f"/portal/appointments/{appointment.public_id}/cancel/").content.decode()
    assert "late cancellation" in page


def test_reschedule_from_the_portal(client, week_slots, patient_dao):
    appointment = held(week_slots[0], patient_dao)
    client.force_login(patient_dao)
    page = client.get(f"/portal/appointments/{appointment.public_id}/reschedule/").content.decode()
    assert f'value="{week_slots[3].pk}"' in page
    client.post(f"/portal/appointments/{appointment.public_id}/reschedule/", {"slot": week_slots[3].pk})
    assert Appointment.objects.get(pk=appointment.pk).slot_id == week_slots[3].pk


def test_follow_up_tab_schedule_with_discount_and_reject(client, week_slots, doctor_binh, patient_dao):
    first = svc.follow_up_suggest(
        doctor_user=doctor_binh.user,
        patient=patient_dao,
        parent=completed_visit(doctor_binh, patient_dao, days_ago=9),
        suggested_date=(timezone.now() + timedelta(days=3)).date(),
    )
    second = svc.follow_up_suggest(
        doctor_user=doctor_binh.user,
        patient=patient_dao,
        parent=completed_visit(doctor_binh, patient_dao, days_ago=2),
        suggested_date=(timezone.now() + timedelta(days=4)).date(),
    )
    client.force_login(patient_dao)
    page = client.get("/portal/follow-ups/").content.decode()
    assert "475.000" in page or "475,000" in page
    assert (
        f"/portal/follow-ups/{first.public_id}/schedule/" in page
        and f"/portal/follow-ups/{second.public_id}/reject/" in page
    )
    schedule = client.get(f"/portal/follow-ups/{first.public_id}/schedule/").content.decode()
    assert f'value="{week_slots[0].pk}"' in schedule
    client.post(f"/portal/follow-ups/{first.public_id}/schedule/", {"slot": week_slots[0].pk})
    first.refresh_from_db()
    assert first.status == S.PENDING_PAYMENT and first.amount_due == Decimal("475000.00")
    client.post(f"/portal/follow-ups/{second.public_id}/reject/", {"reason": "Feeling fine"})
    assert Appointment.objects.get(pk=second.pk).status == S.CANCELLED


def test_profile_and_medical_record(client, patient_dao):
    client.force_login(patient_dao)
    response = client.post(
        "/portal/profile/",
        {
            "first_name": "Đào",
            "last_name": "Mới",
            "phone": "0909",
            "national_id": "079",
            "date_of_birth": "1990-05-01",
            "language": "vi",
            "time_zone": "Europe/Paris",
            "email_notifications": "on",
        },
    )
    assert response.status_code == 302
    patient_dao.refresh_from_db()
    assert patient_dao.last_name == "Mới" and patient_dao.time_zone == "Europe/Paris" and patient_dao.language == "vi"
    assert patient_dao.patient_profile.phone == "0909"
    client.post(
        "/portal/profile/medical-record/", {"allergies": "penicillin", "chronic_conditions": "", "medications": ""}
    )
    assert "penicillin" in client.get("/portal/profile/medical-record/").content.decode()
    assert AuditLog.objects.filter(action="accounts.medical_record.viewed", actor=patient_dao).exists()


def test_browser_time_zone_is_stored_once(client, patient_dao):
    client.force_login(patient_dao)
    assert "set_time_zone" not in client.get("/portal/").content.decode()
    client.post("/portal/time-zone/", {"time_zone": "America/New_York"})
    client.post("/portal/time-zone/", {"time_zone": "Asia/Tokyo"})
    patient_dao.refresh_from_db()
    assert patient_dao.time_zone == "America/New_York"
    assert client.post("/portal/time-zone/", {"time_zone": "Mars/Base"}).status_code == 400


@pytest.mark.parametrize("suffix", ["", "pay/", "cancel/", "reschedule/", "receipt/", "calendar.ics", "voucher/"])
def test_another_patients_appointment_answers_404(client, week_slots, patient_dao, patient_lan, suffix):
    appointment = held(week_slots[0], patient_dao)
    client.force_login(patient_lan)
    url = f"/portal/appointments/{appointment.public_id}/{suffix}"
    response = client.post(url) if suffix in {"pay/", "voucher/"} else client.get(url)
    assert response.status_code == 404


def test_clinic_accounts_are_sent_to_their_workspace(client, staff_binh):
    client.force_login(staff_binh)
    assert client.get("/portal/appointments/")["Location"] == "/admin/"


def test_portal_pages_render_in_vietnamese(client, week_slots, doctor_binh, patient_dao):
    client.force_login(patient_dao)
    client.cookies["django_language"] = "vi"
    for url in [
        "/portal/",
        "/portal/doctors/",
        f"/portal/book/{doctor_binh.pk}/",
        "/portal/appointments/",
        "/portal/follow-ups/",
        "/portal/profile/",
        "/portal/notifications/",
    ]:
        response = client.get(url, follow=True)  # /portal/doctors/ leads to the public directory
        html = response.content.decode()
        assert response.status_code == 200, url
        assert 'lang="vi"' in html
        assert "Tìm bác sĩ" in html and "Lịch hẹn của tôi" in html  # the header, translated


def test_profile_refuses_an_unknown_time_zone_and_keeps_the_input(client, patient_dao):
    client.force_login(patient_dao)
    response = client.post(
        "/portal/profile/",
        {"first_name": "Đào", "last_name": "Giữ", "language": "en", "time_zone": "Mars/Base"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Choose a time zone from the list" in html and 'value="Giữ"' in html
    patient_dao.refresh_from_db()
    assert patient_dao.time_zone != "Mars/Base"


def test_signing_up_from_a_slot_comes_back_to_it_after_typing_the_code(client, week_slots, doctor_binh):
    import re

    from django.core import mail

    back = f"/portal/book/{doctor_binh.pk}/?slot={week_slots[0].pk}"
    page = client.get(f"/portal/book/{doctor_binh.pk}/", {"slot": week_slots[0].pk}).content.decode()
    signup_url = re.search(r'href="(/accounts/signup/\?next=[^"]+)"', page).group(1).replace("&amp;", "&")
    form = client.get(signup_url).content.decode()
    assert 'name="next"' in form and 'class="card chosen-slot"' in form
    client.post(
        signup_url,
        {
            "first_name": "Mai",
            "last_name": "Trần",
            "email": "mai.slot@example.test",
            "password1": "a-long-pass-phrase-7",
            "next": back,
        },
    )
    assert 'class="card chosen-slot"' in client.get("/accounts/confirm-email/").content.decode()
    code = re.search(r"^(\d{6})$", mail.outbox[-1].body, re.MULTILINE).group(1)
    assert client.post("/accounts/confirm-email/", {"code": code})["Location"] == back
