"""The .ics Medbook attaches is valid RFC 5545: CRLF, folded at 75 octets, escaped, UTC times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from booking.services import appointment_cancel, appointment_reschedule
from tests.factories import publish_slots
from tests.workflows.notifications.conftest import NOW, VISIT
from tests.workflows.notifications.helpers import book_confirmed
from tests.workflows.notifications.ical import event_of, parse, physical_lines, unescape
from workflows.ics import CalendarEvent, escape_text, fold, render_calendar

REQUIRED_EVENT = {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "SEQUENCE", "STATUS"}
UTC_TIME = re.compile(r"^\d{8}T\d{6}Z$")


def _event(**overrides):
    values = {
        "uid": "5f0c7c3e-0000-4000-8000-000000000001@medbook",
        "start": datetime(2025, 6, 4, 22, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")),  # 15:00 UTC
        "end": datetime(2025, 6, 4, 15, 30, tzinfo=UTC),
        "summary": "Khám lại với bác sĩ Nguyễn Thị Châu, khoa Nội; phòng 3 — tái khám sau điều trị viêm họng cấp tính",
        "description": "Line one, with a comma;\nline two with a back\\slash",
        "location": "12 Lê Lợi, Quận 1; TP. Hồ Chí Minh",
        "organizer_email": "no-reply@medbook.local",
        "attendee_name": 'Đào "Dee" Test',
        "attendee_email": "dao.patient@example.test",
    }
    return CalendarEvent(**(values | overrides))


def test_calendar_parses_back_with_required_properties_and_utc_times():
    event = _event()
    raw = render_calendar(event, now=NOW)
    calendar, props = event_of(raw)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"] and calendar["METHOD"] == "REQUEST"
    assert set(props) >= REQUIRED_EVENT
    assert props["DTSTART"] == "20250604T150000Z" and props["DTEND"] == "20250604T153000Z"
    assert props["DTSTAMP"] == "20250602T060000Z"
    assert all(UTC_TIME.match(props[name]) for name in ("DTSTART", "DTEND", "DTSTAMP"))
    assert props["STATUS"] == "CONFIRMED" and props["SEQUENCE"] == "0"


def test_text_values_are_escaped_and_folded_lines_stay_within_75_octets():
    event = _event()
    raw = render_calendar(event, now=NOW)
    lines = physical_lines(raw)
    assert any(line.startswith(b" ") for line in lines), "the long summary must have been folded"
    _, props = event_of(raw)
    assert unescape(props["SUMMARY"]) == event.summary
    assert unescape(props["DESCRIPTION"]) == event.description
    assert unescape(props["LOCATION"]) == event.location
    assert "\\;" in props["LOCATION"] and "\\," in props["LOCATION"] and "\\n" in props["DESCRIPTION"]
    assert "\\\\slash" in props["DESCRIPTION"]
    attendee = next(c for c in parse(raw) if c["name"] == "VEVENT")["params"]["ATTENDEE"]
    assert 'CN="Đào Dee Test"' in attendee  # double quotes cannot appear inside a quoted parameter


@pytest.mark.parametrize("length", range(60, 200, 7))
def test_folding_never_splits_a_multi_octet_character(length):
    line = "SUMMARY:" + ("ệ" * length)
    folded = fold(line)
    for physical in folded.split("\r\n"):
        assert len(physical.encode("utf-8")) <= 75
    assert folded.replace("\r\n ", "") == line


def test_cancellation_uses_method_cancel_and_status_cancelled():
    raw = render_calendar(_event(cancelled=True, sequence=2), now=NOW)
    calendar, props = event_of(raw)
    assert calendar["METHOD"] == "CANCEL" and props["STATUS"] == "CANCELLED" and props["SEQUENCE"] == "2"


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        render_calendar(_event(start=datetime(2025, 6, 4, 15, 0)), now=NOW)


def test_escape_text_escapes_backslash_first():
    assert escape_text("a\\b;c,d\r\ne") == "a\\\\b\\;c\\,d\\ne"


# --- attached to real emails ------------------------------------------------------------------------


def _calendar_attachments(to: str) -> list[tuple[str, str, str]]:
    return [
        attachment
        for message in mail.outbox
        if message.to == [to]
        for attachment in message.attachments
        if attachment[2].startswith("text/calendar")
    ]


def test_confirmation_reschedule_and_cancellation_carry_one_event_with_rising_sequence(
    frozen, patient_dao, dr_chau, staff_binh, django_capture_on_commit_callbacks
):
    first, later = (
        publish_slots(dr_chau, start=VISIT, count=1)[0],
        publish_slots(dr_chau, start=VISIT + timedelta(days=1))[0],
    )
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book_confirmed(patient_dao, first, staff=staff_binh)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_reschedule(appointment=appointment, new_slot=later, actor=staff_binh)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment, actor=staff_binh, reason="The doctor is ill.")

    calendars = _calendar_attachments(patient_dao.email)
    assert [mimetype for _, _, mimetype in calendars] == [
        "text/calendar; method=REQUEST",
        "text/calendar; method=REQUEST",
        "text/calendar; method=CANCEL",
    ]
    parsed = [event_of(content) for _, content, _ in calendars]
    assert {props["UID"] for _, props in parsed} == {f"{appointment.public_id}@medbook"}
    assert [cal["METHOD"] for cal, _ in parsed] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [int(props["SEQUENCE"]) for _, props in parsed] == [0, 1, 2]
    assert [props["DTSTART"] for _, props in parsed] == ["20250604T080000Z", "20250605T080000Z", "20250605T080000Z"]
    assert parsed[2][1]["STATUS"] == "CANCELLED"
    # the doctor's calendar gets the same event
    doctor_events = [event_of(content)[1] for _, content, _ in _calendar_attachments(dr_chau.user.email)]
    assert {props["UID"] for props in doctor_events} == {f"{appointment.public_id}@medbook"}


def test_no_invitation_for_a_booking_that_is_only_held(
    frozen, patient_dao, dr_chau, django_capture_on_commit_callbacks
):
    from tests.workflows.notifications.helpers import book

    (slot,) = publish_slots(dr_chau, start=VISIT, count=1)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(patient_dao, slot)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment, actor=patient_dao)
    assert [m.subject for m in mail.outbox if m.to == [dr_chau.user.email]], "the doctor is told"
    assert _calendar_attachments(patient_dao.email) == [] and _calendar_attachments(dr_chau.user.email) == []


def test_the_portal_download_is_the_patients_event_and_a_cancellation_once_cancelled(
    frozen, patient_dao, dr_chau, staff_binh
):
    from workflows.ics import appointment_calendar

    (slot,) = publish_slots(dr_chau, start=VISIT, count=1)
    appointment = book_confirmed(patient_dao, slot, staff=staff_binh)
    calendar, props = event_of(appointment_calendar(appointment))
    assert calendar["METHOD"] == "REQUEST" and props["STATUS"] == "CONFIRMED"
    assert unescape(props["SUMMARY"]) == "Medbook appointment with Dr. Châu Test"
    assert props["URL"].endswith(f"/portal/appointments/{appointment.public_id}/")
    assert "mailto:dao.patient@example.test" in props["ATTENDEE"]

    appointment_cancel(appointment=appointment, actor=staff_binh, reason="The doctor is ill.")
    appointment.refresh_from_db()
    calendar, props = event_of(appointment_calendar(appointment))
    assert calendar["METHOD"] == "CANCEL" and props["STATUS"] == "CANCELLED" and props["SEQUENCE"] == "1"

    suggestion_without_time = appointment
    suggestion_without_time.starts_at = None
    with pytest.raises(ValueError):
        appointment_calendar(suggestion_without_time)
