"""A lapsed hold touched by three paths at once: a new booking for its slot ‖ the expiry sweep ‖ the
late payment's webhook. Before one lock order, PostgreSQL killed one of them with a deadlock (40P01)
in a third of the rounds and the patient saw a 500.

Each round must end with no unexpected error (a lost race is SlotTaken), at most one appointment on
the slot, and the late payer either confirmed or refunded.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import SLOT_OCCUPYING, Appointment, AppointmentStatus, Payment, PaymentStatus, Refund
from booking.payments import sandbox
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.concurrency.test_booking_race import race
from tests.factories import make_user, publish_slots

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

ROUNDS = 20


def test_booking_the_sweep_and_a_late_webhook_on_one_lapsed_slot_never_fail():
    doctor = make_doctor("lapsed.doctor@clinic.test")
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    slots = publish_slots(doctor, start=start, count=ROUNDS)
    outcomes = {"late payer kept the slot": 0, "newcomer got the slot": 0}
    for number, slot in enumerate(slots):
        late_payer = make_user(f"late{number}@example.test", "patient", first_name="Muộn")
        newcomer = make_user(f"new{number}@example.test", "patient", first_name="Mới")
        held = svc.appointment_book(slot=slot, patient=late_payer, actor=late_payer, details=details_for(late_payer))
        payment = svc.payment_start(appointment=held, gateway="sandbox", actor=late_payer)
        later = held.hold_expires_at + timedelta(seconds=5)  # the hold has lapsed for everyone below
        body = sandbox.build_event(payment=payment, outcome="succeeded")
        headers = {sandbox.SIGNATURE_HEADER: sandbox.sign(body)}

        results = race(
            [
                lambda s=slot, p=newcomer, t=later: svc.appointment_book(
                    slot=s, patient=p, actor=p, details=details_for(p), now=t
                ),
                lambda t=later: svc.appointments_expire_lapsed_holds(now=t),
                lambda b=body, h=headers, t=later: svc.payment_webhook_process(
                    gateway="sandbox", body=b, headers=h, now=t
                ),
            ]
        )

        unexpected = [r for kind, r in results if kind == "error" and not isinstance(r, svc.SlotTaken)]
        assert unexpected == [], f"round {number}: {unexpected!r}"
        occupying = Appointment.objects.filter(slot=slot, status__in=SLOT_OCCUPYING)
        assert occupying.count() <= 1, list(occupying.values("pk", "status"))
        held.refresh_from_db()
        payment = Payment.objects.get(pk=payment.pk)
        if held.status == AppointmentStatus.CONFIRMED:
            assert payment.status == PaymentStatus.SUCCEEDED
            outcomes["late payer kept the slot"] += 1
        else:
            # the newcomer's booking won: the late payer's money goes back in full
            assert payment.status == PaymentStatus.REFUNDED, (number, held.status, payment.status)
            assert Refund.objects.filter(payment=payment, amount=payment.amount).exists()
            assert occupying.get().patient_id == newcomer.pk
            outcomes["newcomer got the slot"] += 1
    assert sum(outcomes.values()) == ROUNDS
