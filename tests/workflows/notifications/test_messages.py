"""Every message kind renders for its recipients, in English and Vietnamese, in the recipient's zone."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from booking.services import follow_up_accept, follow_up_reject, follow_up_suggest
from core.models import OutboxMessage
from tests.booking.appointments.helpers import completed_visit
from tests.factories import publish_slots
from tests.workflows.notifications.conftest import VISIT
from tests.workflows.notifications.helpers import book, book_confirmed
from workflows.messages import REGISTRY, format_money, render_message

#: who receives each kind (from booking.services.appointments), and which appointment it is about
RECIPIENTS = {
    "appointment.held": ["patient"],
    "appointment.confirmed": ["patient", "doctor"],
    "appointment.paid_pending": ["patient"],
    "appointment.request_received": ["doctor"],
    "appointment.declined": ["patient"],
    "appointment.cancelled": ["patient", "doctor"],
    "appointment.rescheduled": ["patient", "doctor"],
    "appointment.hold_expired": ["patient"],
    "appointment.payment_failed": ["patient"],
    "appointment.no_show": ["patient"],
    "payment.refunded": ["patient"],
    "payment.late_refunded": ["patient", "staff"],
    "payment.refund_failed": ["staff"],
    "follow_up.suggested": ["patient"],
    "follow_up.accepted": ["doctor"],
    "follow_up.rejected": ["doctor"],
    "appointment.reminder": ["patient", "doctor"],
}
# Visit at 08:00 UTC: 10:00 in Paris (Đào), 15:00 in Ho Chi Minh City (Dr Châu, and staff: clinic zone).
CLOCK = {
    ("en", "Europe/Paris"): "10:00",
    ("vi", "Europe/Paris"): "10:00",
    ("en", "Asia/Ho_Chi_Minh"): "15:00",
    ("vi", "Asia/Ho_Chi_Minh"): "15:00",
}
# each zone by its friendly name and offset (core.dates.zone_label), never its IANA key
ZONE_NAME = {
    ("en", "Europe/Paris"): "Paris time (GMT+2)",
    ("vi", "Europe/Paris"): "Giờ Paris (GMT+2)",
    ("en", "Asia/Ho_Chi_Minh"): "Vietnam time (GMT+7)",
    ("vi", "Asia/Ho_Chi_Minh"): "Giờ Việt Nam (GMT+7)",
}
# Dr Châu suggests a follow-up at 09:00 her time (02:00 UTC): 04:00 in Paris.
SUGGESTED_CLOCK = {
    ("en", "Europe/Paris"): "04:00",
    ("vi", "Europe/Paris"): "04:00",
    ("en", "Asia/Ho_Chi_Minh"): "09:00",
    ("vi", "Asia/Ho_Chi_Minh"): "09:00",
}
SUGGESTED_DATE, SUGGESTED_TIME = date(2025, 6, 20), time(9, 0)


def test_every_kind_booking_writes_has_a_message():
    source = "\n".join(path.read_text() for path in Path(settings.BASE_DIR, "booking").rglob("*.py"))
    written = set(re.findall(r'_notify\(\s*"([a-z_]+\.[a-z_]+)"', source))
    written |= set(re.findall(r'kind(?::\s*str)?\s*=\s*"([a-z_]+\.[a-z_]+)"', source))
    assert len(written) >= 15, written  # the scan itself works
    assert written <= set(REGISTRY), f"no message for: {sorted(written - set(REGISTRY))}"
    # kinds about something else than an appointment (``context``) are rendered by their owner's tests
    assert set(RECIPIENTS) == {kind for kind, spec in REGISTRY.items() if not spec.context}


@pytest.fixture
def people(patient_dao, dr_chau, staff_binh):
    return {"patient": patient_dao, "doctor": dr_chau.user, "staff": staff_binh}


@pytest.fixture
def appointments(frozen, people, dr_chau):
    """A confirmed visit, an open follow-up suggestion, and a rejected and an accepted one."""
    patient, doctor_user, staff = people["patient"], people["doctor"], people["staff"]
    (first,) = publish_slots(dr_chau, start=VISIT, count=1)
    (second,) = publish_slots(dr_chau, start=VISIT + timedelta(days=1), count=1)  # same clock, next day
    confirmed = book_confirmed(patient, first, staff=staff)
    visited = completed_visit(dr_chau, patient, staff=staff)  # follow-ups continue a visit that took place

    def suggest():
        return follow_up_suggest(
            doctor_user=doctor_user,
            patient=patient,
            suggested_date=SUGGESTED_DATE,
            suggested_time=SUGGESTED_TIME,
            notes="Bring the blood test results.",
            parent=visited,
        )

    # one open suggestion per visit at a time: close each before suggesting the next
    rejected = follow_up_reject(appointment=suggest(), actor=patient, reason="I feel better.")
    accepted = follow_up_accept(appointment=suggest(), slot=second, actor=patient)
    suggested = suggest()
    (third,) = publish_slots(dr_chau, start=VISIT + timedelta(days=2), count=1)
    held = book(patient, third)
    return {"confirmed": confirmed, "suggested": suggested, "rejected": rejected, "accepted": accepted, "held": held}


def _about(kind, appointments):
    if kind == "appointment.held":  # only relevant while the hold is open
        return appointments["held"]
    return {
        "follow_up.suggested": appointments["suggested"],
        "follow_up.rejected": appointments["rejected"],
        "follow_up.accepted": appointments["accepted"],
    }.get(kind, appointments["confirmed"])


def _message(kind, recipient, appointment):
    context = {"appointment": appointment.pk}
    if kind == "appointment.reminder":
        context |= {"lead_minutes": 1440, "starts_at": appointment.starts_at.isoformat()}
    return OutboxMessage(
        kind=kind,
        recipient=recipient,
        object_type="booking.appointment",
        object_id=str(appointment.pk),
        context=context,
        dedupe_key=f"test:{kind}:{recipient.pk}",
    )


@pytest.mark.parametrize("language", ["en", "vi"])
@pytest.mark.parametrize("kind", sorted(RECIPIENTS))
def test_each_kind_renders_for_each_recipient_in_their_language_and_zone(kind, language, appointments, people):
    for role in RECIPIENTS[kind]:
        recipient = people[role]
        recipient.language = language
        appointment = _about(kind, appointments)
        rendered = render_message(_message(kind, recipient, appointment))
        zone = recipient.effective_time_zone
        other_zone = {"Europe/Paris": "Asia/Ho_Chi_Minh", "Asia/Ho_Chi_Minh": "Europe/Paris"}[zone]
        label = f"{kind} for {role} in {language}"

        assert rendered.language == language
        assert rendered.subject and "\n" not in rendered.subject, label
        assert rendered.short and rendered.text.strip() and "<html" in rendered.html, label
        for part in (rendered.subject, rendered.short, rendered.text, rendered.html):
            assert "{{" not in part and "{%" not in part and "None" not in part, label
        if appointment.starts_at is not None:
            clock = CLOCK[(language, zone)]
            for part in (rendered.short, rendered.text, rendered.html):
                assert clock in part and ZONE_NAME[(language, zone)] in part, label
                assert ZONE_NAME[(language, other_zone)] not in part, label
        elif kind == "follow_up.suggested":
            assert SUGGESTED_CLOCK[(language, zone)] in rendered.text, label
            assert ZONE_NAME[(language, zone)] in rendered.text, label
        if kind == "follow_up.rejected":
            assert SUGGESTED_CLOCK[(language, zone)] in rendered.text, label
        if language == "vi" and appointment.starts_at is not None:
            assert "thg 6, 2025" in rendered.text, label  # the one Vietnamese date style (core.dates)
        if role == "patient":
            assert rendered.link == f"/portal/appointments/{appointment.public_id}/"
        else:
            assert rendered.link.startswith("/admin/")
        assert rendered.url == settings.SITE_URL + rendered.link


def test_follow_up_suggestion_shows_the_discount_and_keeps_the_doctors_note_out_of_email(appointments, people):
    rendered = render_message(_message("follow_up.suggested", people["patient"], appointments["suggested"]))
    assert "5% off" in rendered.text and "5% off" in rendered.short
    assert "475,000 VND" in rendered.text and "500,000 VND" in rendered.text
    assert "Bring the blood test results" not in rendered.text + rendered.html + rendered.short
    assert "read it in your portal" in rendered.text


def test_in_person_visits_also_show_the_clinic_time(appointments, people):
    confirmed = appointments["confirmed"]
    confirmed.mode = "in_person"
    confirmed.save(update_fields=["mode"])
    rendered = render_message(_message("appointment.confirmed", people["patient"], confirmed))
    assert "Clinic time" in rendered.text
    assert "10:00–10:30 · Paris time (GMT+2)" in rendered.text
    assert "15:00–15:30 · Vietnam time (GMT+7)" in rendered.text
    assert "Please arrive at the clinic" in rendered.text


def test_plain_text_parts_are_not_html_escaped_and_html_is(appointments, people):
    confirmed = appointments["confirmed"]
    confirmed.last_name, confirmed.first_name = "<Trần & Co>", "Đào"
    confirmed.save(update_fields=["last_name", "first_name"])
    rendered = render_message(_message("appointment.confirmed", people["doctor"], confirmed))
    assert "<Trần & Co> Đào" in rendered.subject and "<Trần & Co> Đào" in rendered.text
    assert "&lt;Trần &amp; Co&gt; Đào" in rendered.html and "<Trần" not in rendered.html


def test_money_is_formatted_for_the_language():
    from decimal import Decimal

    from django.utils import translation

    with translation.override("en"):
        assert format_money(Decimal("500000"), "VND") == "500,000 VND"
        assert format_money(Decimal("12.5"), "EUR") == "12.50 EUR"
    with translation.override("vi"):
        assert format_money(Decimal("500000"), "VND") == "500.000 VND"
