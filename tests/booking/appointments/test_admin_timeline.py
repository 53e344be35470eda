"""Issue 18 items 7 and 9: the appointment page reads like a timeline, has no Save row, groups its
actions, and a follow-up is suggested once however often the button is pressed."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, AppointmentStatus
from tests.booking.appointments.helpers import completed_visit, details_for

S = AppointmentStatus


def change_url(appointment):
    return f"/admin/booking/appointment/{appointment.pk}/change/"


def history_of(page: str) -> list[str]:
    """The History panel's entries as text, oldest first."""
    panel = re.search(r'<section[^>]*id="appointment-history".*?</section>', page, re.S)
    assert panel, "no History panel on the page"
    entries = re.findall(r"<li[^>]*>(.*?)</li>", panel.group(0), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", entry).split()) for entry in entries]


def test_history_says_in_words_who_booked_paid_and_confirmed(client, slots, patient_dao, doctor_review, staff_binh):
    from tests.factories import publish_slots

    slot = publish_slots(doctor_review, start=slots[0].start + timedelta(days=1), count=1)[0]
    visit = svc.appointment_book(slot=slot, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    svc.payment_mark_cash_paid(appointment=visit, actor=staff_binh)
    svc.appointment_confirm(appointment=Appointment.objects.get(pk=visit.pk), actor=doctor_review.user)
    client.force_login(staff_binh)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(change_url(visit)).content.decode()
    entries = history_of(page)
    assert len(entries) == 3, entries
    assert "Booked by the patient" in entries[0]
    assert "Paid at the desk · Waiting for the doctor to confirm" in entries[1]
    assert f"Confirmed by {doctor_review}" in entries[2]
    # no raw state codes or transition names anywhere on the page's text
    text = re.sub(r"<[^>]+>", " ", page)
    for code in ("pending_payment", "confirm_paid", "await_doctor", "in_person", "&#x27;confirmed&#x27;"):
        assert code not in text
    assert re.search(r'class="readonly[^"]*">\s*Confirmed\s*<', page)
    # times in the viewer's zone, named
    assert "GMT+7" in page


def test_history_in_vietnamese(client, slots, patient_dao, staff_binh):
    visit = svc.appointment_book(
        slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    svc.appointment_cancel(appointment=visit, actor=staff_binh, reason="Doctor ill")
    client.force_login(staff_binh)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    entries = history_of(client.get(change_url(visit)).content.decode())
    assert any("Bệnh nhân tự đặt lịch" in e for e in entries), entries
    assert any("Đã hủy bởi" in e and "Doctor ill" in e for e in entries), entries


def test_the_read_only_appointment_page_has_no_save_buttons(client, slots, patient_dao, staff_binh, admin_an):
    visit = svc.appointment_book(
        slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    for user in (staff_binh, admin_an):
        client.force_login(user)
        page = client.get(change_url(visit)).content.decode()
        assert 'name="_save"' not in page and 'name="_continue"' not in page and 'name="_addanother"' not in page
        assert "/history/" not in page  # the History panel replaces Django's object-history link
        # everyday actions in sight, the rest grouped under "More"
        assert "mark_paid_detail" in page and "More" in page


def test_one_click_makes_one_follow_up_however_often_it_is_sent(client, patient_dao, doctor_binh, staff_binh):
    visit = completed_visit(doctor_binh, patient_dao, staff=staff_binh)
    client.force_login(doctor_binh.user)
    data = {
        "_form_submitted": "on",
        "suggested_date": (timezone.now() + timedelta(days=10)).date().isoformat(),
        "notes": "Recheck the blood pressure",
    }
    url = f"/admin/booking/appointment/{visit.pk}/suggest_follow_up_detail/"
    first = client.post(url, data, follow=True)
    second = client.post(url, data, follow=True)  # a double submit
    assert Appointment.objects.filter(parent=visit).count() == 1
    for response in (first, second):
        assert "Follow-up suggested to the patient." in response.content.decode()
    # the database holds the line too, not only the service: one open suggestion per visit
    import pytest
    from django.db import IntegrityError, transaction

    existing = Appointment.objects.get(parent=visit)
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            doctor=doctor_binh,
            patient=patient_dao,
            status=S.PENDING_PATIENT_CONFIRMATION,
            is_follow_up_suggestion=True,
            parent=visit,
            price=existing.price,
        )


def test_a_follow_up_is_not_offered_before_the_visit(client, slots, patient_dao, doctor_binh, staff_binh):
    upcoming = svc.appointment_book(
        slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    svc.payment_mark_cash_paid(appointment=upcoming, actor=staff_binh)
    client.force_login(doctor_binh.user)
    url = f"/admin/booking/appointment/{upcoming.pk}/suggest_follow_up_detail/"
    response = client.post(url, {"_form_submitted": "on", "suggested_date": "2099-01-01"})
    assert response.status_code in (403, 404)
    assert not Appointment.objects.filter(parent=upcoming).exists()


def test_a_declined_suggestion_says_declined_on_both_pages(client, patient_dao, doctor_binh, staff_binh):
    visit = completed_visit(doctor_binh, patient_dao, staff=staff_binh)
    suggestion = svc.follow_up_suggest(
        doctor_user=doctor_binh.user,
        patient=patient_dao,
        parent=visit,
        suggested_date=(timezone.now() + timedelta(days=7)).date(),
    )
    svc.follow_up_reject(appointment=suggestion, actor=patient_dao, reason="Feeling better")
    client.force_login(doctor_binh.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    own = client.get(change_url(suggestion)).content.decode()
    assert "Declined by the patient" in own and "(&#x27;declined&#x27;" not in own and "('declined'" not in own
    assert any("Follow-up declined by the patient" in e for e in history_of(own))
    parent = client.get(change_url(visit)).content.decode()
    assert f"#{suggestion.pk}" in parent and "Declined by the patient" in parent
    listing = client.get("/admin/booking/appointment/").content.decode()
    assert "Declined by the patient" in listing


def test_an_action_url_opened_directly_is_a_full_admin_page(client, patient_dao, doctor_binh, staff_binh):
    visit = completed_visit(doctor_binh, patient_dao, staff=staff_binh)
    client.force_login(doctor_binh.user)
    page = client.get(f"/admin/booking/appointment/{visit.pk}/suggest_follow_up_detail/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/admin/booking/appointment/{visit.pk}/suggest_follow_up_detail/").content.decode()
    assert "<html" in page and "Clinic workspace" in page and "Send suggestion" in page  # the admin's frame
    assert 'type="date"' in page and "border" in page  # the styled inputs, not bare ones
    assert not Appointment.objects.filter(parent=visit).exists()
