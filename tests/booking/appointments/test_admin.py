"""The appointment admin: transition buttons per state and role, all through the services."""

from datetime import timedelta

from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, AppointmentStatus, Slot, SlotStatus
from tests.booking.appointments.helpers import completed_visit, details_for, make_doctor
from tests.factories import publish_slots

S = AppointmentStatus
CONFIRM = {"_form_submitted": "on"}  # the confirmation dialog's form


def change_url(appointment):
    return f"/admin/booking/appointment/{appointment.pk}/change/"


def action_url(appointment, name):
    return f"/admin/booking/appointment/{appointment.pk}/{name}/"


def held(slot, patient):
    return svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))


def test_doctor_sees_only_their_own_appointments(client, slots, patient_dao, doctor_binh):
    mine = held(slots[0], patient_dao)
    other = make_doctor("khanh.doctor@clinic.test")
    theirs = held(publish_slots(other, start=slots[0].start + timedelta(days=1), count=1)[0], patient_dao)
    client.force_login(doctor_binh.user)
    listing = client.get("/admin/booking/appointment/").content.decode()
    assert change_url(mine) in listing and change_url(theirs) not in listing
    assert client.get(change_url(theirs)).status_code == 404
    assert client.post(action_url(theirs, "confirm_detail")).status_code == 404


def test_buttons_follow_state_and_role(client, slots, patient_dao, doctor_review, staff_binh):
    slot = publish_slots(doctor_review, start=slots[0].start + timedelta(hours=2), count=1)[0]
    appointment = held(slot, patient_dao)
    client.force_login(staff_binh)
    page = client.get(change_url(appointment)).content.decode()
    assert action_url(appointment, "mark_paid_detail") in page
    assert action_url(appointment, "confirm_detail") not in page
    client.post(action_url(appointment, "mark_paid_detail"), CONFIRM)
    appointment.refresh_from_db()
    assert appointment.status == S.PENDING
    client.force_login(doctor_review.user)
    page = client.get(change_url(appointment)).content.decode()
    assert action_url(appointment, "confirm_detail") in page
    assert action_url(appointment, "mark_paid_detail") not in page
    assert action_url(appointment, "complete_detail") not in page  # not started yet
    client.post(action_url(appointment, "confirm_detail"), CONFIRM)
    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED
    page = client.get(change_url(appointment)).content.decode()
    assert "Waiting for the doctor to confirm" in page  # the History panel, in words


def test_cancel_needs_a_reason_in_the_dialog(client, slots, patient_dao, doctor_binh):
    appointment = held(slots[0], patient_dao)
    client.force_login(doctor_binh.user)
    response = client.post(action_url(appointment, "cancel_detail"), {"_form_submitted": "on", "reason": ""})
    assert response.status_code == 200  # dialog re-rendered with the error
    assert Appointment.objects.get(pk=appointment.pk).status == S.PENDING_PAYMENT
    response = client.post(action_url(appointment, "cancel_detail"), {"_form_submitted": "on", "reason": "Sick"})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == S.CANCELLED and appointment.cancellation_reason == "Sick"
    assert Slot.objects.get(pk=slots[0].pk).status == SlotStatus.FREE


def test_domain_errors_become_messages(client, slots, patient_dao, staff_binh):
    appointment = held(slots[0], patient_dao)
    svc.payment_mark_cash_paid(appointment=appointment, actor=staff_binh)
    client.force_login(staff_binh)
    response = client.post(action_url(appointment, "no_show_detail"), CONFIRM, follow=True)
    # the button is not offered before the start; calling it anyway is refused, never a 500
    assert response.status_code in {200, 403}


def test_doctor_suggests_a_follow_up_from_the_appointment(client, slots, patient_dao, doctor_binh, staff_binh):
    upcoming = held(slots[0], patient_dao)
    svc.payment_mark_cash_paid(appointment=upcoming, actor=staff_binh)
    client.force_login(doctor_binh.user)
    # not from a visit that has not happened yet: the button is not offered, the URL refuses
    page = client.get(f"/admin/booking/appointment/{upcoming.pk}/change/").content.decode()
    assert "suggest_follow_up_detail" not in page
    appointment = completed_visit(doctor_binh, patient_dao, staff=staff_binh)
    response = client.post(
        action_url(appointment, "suggest_follow_up_detail"),
        {
            "_form_submitted": "on",
            "suggested_date": (timezone.now() + timedelta(days=14)).date().isoformat(),
            "notes": "Recheck",
        },
    )
    assert response.status_code == 302
    suggestion = Appointment.objects.get(parent=appointment)
    assert suggestion.status == S.PENDING_PATIENT_CONFIRMATION and suggestion.follow_up_notes == "Recheck"


def test_staff_book_on_behalf_of_a_patient_through_the_service(client, slots, patient_dao, staff_binh):
    client.force_login(staff_binh)
    assert client.get("/admin/booking/appointment/add/").status_code == 302
    page = client.get("/admin/booking/appointment/book/")
    assert page.status_code == 200
    response = client.post(
        "/admin/booking/appointment/book/", {"patient": patient_dao.pk, "slot": slots[0].pk, "phone": "0901234567"}
    )
    import re

    assert response.status_code == 302, re.findall(
        r'(?:text-red-600|role="alert")[^>]*>([^<]*)', response.content.decode()
    )
    appointment = Appointment.objects.get(slot=slots[0])
    assert appointment.patient == patient_dao and appointment.status == S.PENDING_PAYMENT
    response = client.post("/admin/booking/appointment/book/", {"patient": patient_dao.pk, "slot": slots[0].pk})
    assert response.status_code == 200  # slot no longer offered: form error, not a 500


def test_doctors_cannot_book_and_nobody_deletes(client, slots, patient_dao, doctor_binh, admin_an):
    appointment = held(slots[0], patient_dao)
    client.force_login(doctor_binh.user)
    assert client.get("/admin/booking/appointment/book/").status_code == 404
    client.force_login(admin_an)
    assert client.get(f"/admin/booking/appointment/{appointment.pk}/delete/").status_code == 403


def test_doctor_sees_records_of_own_patients_only(client, slots, patient_dao, patient_lan, doctor_binh):
    held(slots[0], patient_dao)
    client.force_login(doctor_binh.user)
    listing = client.get("/admin/accounts/patientprofile/").content.decode()
    assert patient_dao.email in listing and patient_lan.email not in listing


def test_the_appointment_page_shows_money_and_the_visit_mode_in_words(client, slots, patient_dao, staff_binh):
    """Issue 18 item 7: no raw `video` or `300000.00` on the page; money grouped per language."""
    import re

    from django.conf import settings

    visit = held(slots[0], patient_dao)
    Appointment.objects.filter(pk=visit.pk).update(price=350000, currency="VND")
    client.force_login(staff_binh)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    page = client.get(change_url(visit)).content.decode()
    assert "350.000 ₫" in page and "350000" not in page
    readonly = re.findall(r'class="readonly[^"]*">\s*([^<]*?)\s*</div>', page)
    assert "Video" in readonly and "video" not in readonly  # the mode's label, not its code
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(change_url(visit)).content.decode()
    assert "350,000 ₫" in page and "350000" not in page
    listing = client.get("/admin/booking/appointment/").content.decode()
    assert "350,000 ₫" in listing
