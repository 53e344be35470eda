"""An in-person visit at a facility carries its place everywhere the patient looks: the confirmation
email (text and HTML, with an OpenStreetMap link), the attached .ics (LOCATION and GEO, read back with
the icalendar library) and the calendar feed; a video visit carries none of it."""

from __future__ import annotations

import io
from decimal import Decimal

import icalendar
import pytest
from django.core import mail
from django.utils import translation

from tests.factories import FacilityFactory, RoomFactory, publish_slots
from tests.workflows.notifications.conftest import VISIT
from tests.workflows.notifications.helpers import book_confirmed
from workflows import ics

pytestmark = pytest.mark.django_db

MAP = "https://www.openstreetmap.org/?mlat=10.776889&amp;mlon=106.700806"


@pytest.fixture
def room_3(db):
    facility = FacilityFactory(
        name="Medbook Lê Lợi",
        address="12 Lê Lợi",
        district="Quận 1",
        city="Hồ Chí Minh",
        latitude=Decimal("10.776889"),
        longitude=Decimal("106.700806"),
    )
    return RoomFactory(facility=facility, name="3")


def _confirmed(patient, doctor, staff, capture, **place):
    (slot,) = publish_slots(doctor, start=VISIT, count=1, **place)
    with capture(execute=True):
        return book_confirmed(patient, slot, staff=staff)


def _confirmation_to(email):
    return next(m for m in mail.outbox if m.to == [email] and m.attachments)


def test_the_confirmation_email_and_its_invitation_say_where_and_link_the_map(
    frozen, patient_dao, dr_chau, staff_binh, room_3, django_capture_on_commit_callbacks
):
    _confirmed(patient_dao, dr_chau, staff_binh, django_capture_on_commit_callbacks, room=room_3)
    message = _confirmation_to(patient_dao.email)
    place = "Medbook Lê Lợi (3), 12 Lê Lợi, Quận 1, Hồ Chí Minh"
    assert f"Where: {place}" in message.body
    assert "Map: https://www.openstreetmap.org/?mlat=10.776889&mlon=106.700806" in message.body
    html = message.alternatives[0][0]
    assert place in html and MAP in html
    (_name, content, _mime) = next(a for a in message.attachments if a[2].startswith("text/calendar"))
    event = icalendar.Calendar.from_ical(content).walk("VEVENT")[0]
    assert str(event["LOCATION"]) == place
    assert (event["GEO"].latitude, event["GEO"].longitude) == (10.776889, 106.700806)


def test_the_calendar_feed_gives_the_facility_as_location(
    frozen, patient_dao, dr_chau, staff_binh, room_3, django_capture_on_commit_callbacks
):
    from workflows.operations.selectors import feed_appointments

    _confirmed(patient_dao, dr_chau, staff_binh, django_capture_on_commit_callbacks, room=room_3)
    (visit,) = feed_appointments(patient_dao)
    event = ics.feed_event(visit, viewer=patient_dao, sequence=0)
    assert event.location.startswith("Medbook Lê Lợi (3), 12 Lê Lợi") and event.geo is not None


def test_a_video_visit_has_no_address_and_no_map(
    frozen, patient_dao, dr_chau, staff_binh, room_3, django_capture_on_commit_callbacks
):
    _confirmed(patient_dao, dr_chau, staff_binh, django_capture_on_commit_callbacks)
    message = _confirmation_to(patient_dao.email)
    assert "openstreetmap" not in message.body and "Lê Lợi" not in message.body
    (_name, content, _mime) = next(a for a in message.attachments if a[2].startswith("text/calendar"))
    assert "GEO" not in icalendar.Calendar.from_ical(content).walk("VEVENT")[0]


def test_the_vietnamese_email_names_the_map_in_vietnamese(
    frozen, patient_dao, dr_chau, staff_binh, room_3, django_capture_on_commit_callbacks
):
    patient_dao.language = "vi"
    patient_dao.save(update_fields=["language"])
    _confirmed(patient_dao, dr_chau, staff_binh, django_capture_on_commit_callbacks, room=room_3)
    body = _confirmation_to(patient_dao.email).body
    with translation.override("vi"):
        assert f"{translation.gettext('Map')}: https://www.openstreetmap.org/" in body
    assert "Bản đồ: https://www.openstreetmap.org/" in body


def test_an_in_person_confirmation_carries_the_check_in_code_and_its_qr_code(
    frozen, patient_dao, dr_chau, staff_binh, room_3, django_capture_on_commit_callbacks
):
    from PIL import Image

    visit = _confirmed(patient_dao, dr_chau, staff_binh, django_capture_on_commit_callbacks, room=room_3)
    code = visit.booking_code
    message = _confirmation_to(patient_dao.email)
    assert f"show your booking code {code} or the attached QR code" in message.body
    assert code in message.alternatives[0][0]
    (name, content, mime) = next(a for a in message.attachments if a[2] == "image/png")
    assert name == f"check-in-{code}.png"
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG" and image.size[0] == image.size[1] >= 100  # a square code, big enough to scan
    # the doctor's copy carries no code: it is what the patient shows at the desk
    to_doctor = next(m for m in mail.outbox if m.to == [dr_chau.user.email] and "confirmed" in m.subject.lower())
    assert not any(a[2] == "image/png" for a in to_doctor.attachments)


def test_a_video_confirmation_has_no_check_in_code(
    frozen, patient_dao, dr_chau, staff_binh, django_capture_on_commit_callbacks
):
    _confirmed(patient_dao, dr_chau, staff_binh, django_capture_on_commit_callbacks)
    message = _confirmation_to(patient_dao.email)
    assert "booking code" not in message.body
    assert not any(a[2] == "image/png" for a in message.attachments)
