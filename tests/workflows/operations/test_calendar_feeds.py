"""Private calendar feeds: a person's visits as a subscribable iCalendar, behind a revocable secret link.

Every feed is parsed with the ``icalendar`` library, as a calendar client would read it.
"""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from booking import services as booking_services
from booking.models import Appointment
from core.errors import PermissionDenied
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import make_user, publish_slots
from workflows.operations.models import CalendarFeed
from workflows.operations.selectors import feed_by_url, feed_path, feed_token, feed_url, feed_webcal_url
from workflows.operations.services import calendar_feed_renew, calendar_feed_revoke, calendar_feed_set_names


@pytest.fixture
def doctor_binh(db):
    return make_doctor("binh.doctor@clinic.test")


@pytest.fixture
def visit(doctor_binh, patient_dao, staff_binh):
    """A confirmed video visit the day after tomorrow (paid at the desk; the doctor auto-confirms)."""
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    slot = publish_slots(doctor_binh, start=start, count=1)[0]
    booked = booking_services.appointment_book(
        slot=slot, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao, reason="Chest pain")
    )
    booking_services.payment_mark_cash_paid(appointment=booked, actor=staff_binh)
    return Appointment.objects.get(pk=booked.pk)


def fetch(feed, client=None):
    response = (client or Client()).get(feed_path(feed))
    return response


def events_of(response) -> list:
    calendar = icalendar.Calendar.from_ical(response.content)
    return list(calendar.walk("VEVENT"))


def test_a_patients_feed_lists_their_visit_with_no_clinical_detail_and_no_names(visit, patient_dao):
    feed = calendar_feed_renew(user=patient_dao, actor=patient_dao)
    response = fetch(feed)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Cache-Control"] == "no-store, private"

    calendar = icalendar.Calendar.from_ical(response.content)
    assert "METHOD" not in calendar  # a published calendar, not an invitation
    assert str(calendar["X-WR-CALNAME"]) == "Medbook visits"
    [event] = events_of(response)
    assert str(event["UID"]) == f"{visit.public_id}@medbook"
    assert str(event["SUMMARY"]) == "Medbook visit"
    assert event.decoded("DTSTART") == visit.starts_at
    assert event.decoded("DTEND") == visit.ends_at
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["LOCATION"]).endswith(f"/portal/visits/{visit.public_id}/video/")
    text = response.content.decode()
    assert "Chest pain" not in text and visit.last_name not in text and "Bình" not in text
    assert "ATTENDEE" not in text and "ORGANIZER" not in text


def test_the_doctors_feed_lists_the_visits_they_give(visit, doctor_binh):
    feed = calendar_feed_renew(user=doctor_binh.user, actor=doctor_binh.user)
    [event] = events_of(fetch(feed))
    assert str(event["UID"]) == f"{visit.public_id}@medbook"
    assert str(event["URL"]).endswith(f"/admin/booking/appointment/{visit.pk}/change/")
    assert visit.first_name not in fetch(feed).content.decode()


def test_an_in_person_visit_is_at_the_clinic_address(visit, patient_dao, settings):
    settings.CLINIC_ADDRESS = "12 Lý Tự Trọng, Quận 1"
    Appointment.objects.filter(pk=visit.pk).update(mode="in_person")
    [event] = events_of(fetch(calendar_feed_renew(user=patient_dao, actor=patient_dao)))
    assert str(event["LOCATION"]) == "12 Lý Tự Trọng, Quận 1"


def test_names_appear_only_when_the_owner_asks(visit, patient_dao, doctor_binh):
    feed = calendar_feed_renew(user=patient_dao, actor=patient_dao)
    calendar_feed_set_names(feed=feed, actor=patient_dao, with_names=True)
    [event] = events_of(fetch(feed))
    assert str(event["SUMMARY"]) == f"Medbook visit: {doctor_binh}"


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence(visit, patient_dao, doctor_binh):
    feed = calendar_feed_renew(user=patient_dao, actor=patient_dao)
    later = publish_slots(doctor_binh, start=visit.starts_at + timedelta(days=1), count=1)[0]
    booking_services.appointment_reschedule(appointment=visit, new_slot=later, actor=patient_dao)
    [event] = events_of(fetch(feed))
    assert str(event["UID"]) == f"{visit.public_id}@medbook"
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == later.start


def test_a_cancelled_visit_disappears_from_the_feed(visit, patient_dao):
    feed = calendar_feed_renew(user=patient_dao, actor=patient_dao)
    booking_services.appointment_cancel(appointment=visit, actor=patient_dao, reason="Better")
    assert events_of(fetch(feed)) == []


def test_an_unpaid_hold_is_tentative(doctor_binh, patient_dao):
    slot = publish_slots(doctor_binh, start=timezone.now().replace(microsecond=0) + timedelta(days=3), count=1)[0]
    booking_services.appointment_book(
        slot=slot, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    [event] = events_of(fetch(calendar_feed_renew(user=patient_dao, actor=patient_dao)))
    assert str(event["STATUS"]) == "TENTATIVE"


def test_another_persons_visits_are_not_in_the_feed(visit, doctor_binh):
    other = make_user("lan.patient@example.test", "patient", first_name="Lan")
    assert events_of(fetch(calendar_feed_renew(user=other, actor=other))) == []


def test_the_feed_speaks_its_owners_language(visit, patient_dao):
    patient_dao.language = "vi"
    patient_dao.save(update_fields=["language"])
    response = fetch(calendar_feed_renew(user=patient_dao, actor=patient_dao))
    [event] = events_of(response)
    assert str(event["SUMMARY"]) == "Lịch khám Medbook"


def test_a_wrong_token_a_revoked_link_and_an_unknown_key_all_answer_404(visit, patient_dao):
    feed = calendar_feed_renew(user=patient_dao, actor=patient_dao)
    client = Client()
    assert client.get(f"/calendar/{feed.key}/{'0' * 64}.ics").status_code == 404
    assert client.get(f"/calendar/unknown/{feed_token(feed)}.ics").status_code == 404
    calendar_feed_revoke(feed=feed, actor=patient_dao)
    assert fetch(feed).status_code == 404


def test_a_new_link_replaces_the_old_one(visit, patient_dao):
    old = calendar_feed_renew(user=patient_dao, actor=patient_dao)
    new = calendar_feed_renew(user=patient_dao, actor=patient_dao)
    assert fetch(old).status_code == 404 and fetch(new).status_code == 200
    assert feed_url(old) != feed_url(new)
    assert CalendarFeed.objects.filter(user=patient_dao, revoked_at__isnull=True).get() == new


def test_the_link_is_long_and_random_and_the_database_alone_cannot_rebuild_it(patient_dao, settings):
    feed = calendar_feed_renew(user=patient_dao, actor=patient_dao)
    assert len(feed.key) >= 32 and len(feed_token(feed)) == 64
    assert feed_token(feed) not in repr(CalendarFeed.objects.filter(pk=feed.pk).values().get())
    assert feed_webcal_url(feed).startswith("webcal://") and feed_webcal_url(feed).endswith(".ics")
    # a rotated secret keeps old links while the old key is a fallback, and only then
    token = feed_token(feed)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-secret-key-for-this-test-only-0123456789"
    assert feed_by_url(key=feed.key, token=token) == feed
    settings.SECRET_KEY_FALLBACKS = []
    assert feed_by_url(key=feed.key, token=token) is None


def test_a_deactivated_account_has_no_feed(visit, patient_dao):
    feed = calendar_feed_renew(user=patient_dao, actor=patient_dao)
    patient_dao.is_active = False
    patient_dao.save(update_fields=["is_active"])
    assert fetch(feed).status_code == 404


def test_only_the_owner_or_a_clinic_admin_may_change_a_feed(patient_dao, staff_binh, admin_an):
    feed = calendar_feed_renew(user=patient_dao, actor=patient_dao)
    other = make_user("lan.patient@example.test", "patient", first_name="Lan")
    for intruder in (other, staff_binh):
        with pytest.raises(PermissionDenied):
            calendar_feed_renew(user=patient_dao, actor=intruder)
        with pytest.raises(PermissionDenied):
            calendar_feed_revoke(feed=feed, actor=intruder)
    assert calendar_feed_revoke(feed=feed, actor=admin_an).revoked_at is not None


def test_clinic_staff_have_no_feed(staff_binh):
    with pytest.raises(PermissionDenied):
        calendar_feed_renew(user=staff_binh, actor=staff_binh)


def test_the_database_allows_one_active_feed_per_person(patient_dao):
    calendar_feed_renew(user=patient_dao, actor=patient_dao)
    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarFeed.objects.create(user=patient_dao, key="another-key-0123456789abcdef")


def test_a_fetch_is_noted_for_the_owner(visit, patient_dao):
    feed = calendar_feed_renew(user=patient_dao, actor=patient_dao)
    assert feed.last_fetched_at is None
    fetch(feed)
    assert CalendarFeed.objects.get(pk=feed.pk).last_fetched_at is not None
