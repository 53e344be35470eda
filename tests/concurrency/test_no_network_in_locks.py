"""No network call while a lock is held: a slow payment gateway does not hold up other patients.

On SQLite a write transaction holds the whole database's write lock, so a gateway call made inside
one (Stripe allows 15 s) would stop every other booking until it answered. Here the stand-in Stripe
takes 3 s to open a checkout; another patient books meanwhile and must not wait for it.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from booking import services as svc
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import make_user, publish_slots

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

GATEWAY_SECONDS = 3.0


def test_a_slow_gateway_does_not_block_another_patients_booking(stripe_server):
    doctor = make_doctor("slow.gateway@clinic.test")
    first, second = publish_slots(doctor, start=(timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0), count=2)
    payer = make_user("payer@example.test", "patient", first_name="Trả")
    other = make_user("other@example.test", "patient", first_name="Khác")
    appointment = svc.appointment_book(slot=first, patient=payer, actor=payer, details=details_for(payer))
    stripe_server.checkout_delay = GATEWAY_SECONDS
    finished = {}

    def pay():
        try:
            svc.payment_start(appointment=appointment, gateway="stripe", actor=payer)
            finished["pay"] = time.monotonic()
        finally:
            connections.close_all()

    paying = threading.Thread(target=pay)
    paying.start()
    assert stripe_server.arrived.wait(timeout=30), "the checkout request never reached the gateway"
    started = time.monotonic()  # the payment is now waiting for the gateway
    booked = svc.appointment_book(slot=second, patient=other, actor=other, details=details_for(other))
    took = time.monotonic() - started
    paying.join(timeout=60)

    assert booked.status == "pending_payment"
    assert "pay" in finished and finished["pay"] - started >= GATEWAY_SECONDS * 0.8  # the gateway was slow
    assert took < GATEWAY_SECONDS / 2, f"the booking waited {took:.1f} s for the gateway"
