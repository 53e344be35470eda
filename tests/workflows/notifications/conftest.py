"""Workflows personas: Đào (patient) lives in Paris and has a phone; Dr Châu works in Ho Chi Minh City.

The same visit is 10 a.m. for one and 3 p.m. for the other, so a message that shows the wrong
zone's clock cannot pass.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import get_resolver
from freezegun import freeze_time

from booking.models import Doctor
from tests.workflows.notifications.sms_provider_stub import providers  # noqa: F401 - the SMS providers' stand-in
from workflows import sms

#: "now" in these tests, and a visit two days later: 10:00 in Paris (CEST), 15:00 in Ho Chi Minh City
NOW = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
VISIT = datetime(2025, 6, 4, 8, 0, tzinfo=UTC)
PATIENT_PHONE = "+33 6 12 34 56 78"


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    settings.SMS_BACKEND = "workflows.sms.LocmemSMSBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def frozen():
    # Import the URLconf before time is frozen: API schemas built while freezegun replaces
    # ``datetime.date`` would see its fake class and fail.
    assert get_resolver().url_patterns
    with freeze_time(NOW) as frozen_time:
        yield frozen_time


@pytest.fixture
def patient_dao(patient_dao):
    patient_dao.time_zone = "Europe/Paris"
    patient_dao.language = "en"
    patient_dao.save(update_fields=["time_zone", "language"])
    profile = patient_dao.patient_profile
    profile.phone = PATIENT_PHONE
    profile.save(update_fields=["phone"])
    return patient_dao


@pytest.fixture
def dr_chau(doctor_chau):
    """Dr Châu's doctor record: auto-confirms paid bookings."""
    doctor_chau.time_zone = "Asia/Ho_Chi_Minh"
    doctor_chau.save(update_fields=["time_zone"])
    return Doctor.objects.create(
        user=doctor_chau,
        title="Dr.",
        consultation_fee=Decimal("500000"),
        currency="VND",
        time_zone="Asia/Ho_Chi_Minh",
        auto_confirm=True,
        is_active=True,
    )
