"""Two workers delivering the same outbox message at once send it once (PostgreSQL row locks).

Worker A is parked inside a send (the gate backends) while worker B runs the same message. A's
committed claim makes B skip it; the negative control treats every claim as dead and shows B would
send it again, so the guarded tests would notice the claim going missing.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from core.models import OutboxMessage
from tests.factories import publish_slots
from tests.workflows.notifications import backends
from tests.workflows.notifications.helpers import book_confirmed
from workflows import tasks

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks are PostgreSQL's; SQLite serialises all writers behind one lock instead",
    ),
]


@pytest.fixture
def message(transactional_db, settings, patient_dao, dr_chau, staff_binh):
    """The patient's confirmation, written but not yet delivered."""
    settings.OUTBOX_DELIVERY_TASK = None  # nothing is delivered behind the test's back
    # real time here: the workers are threads, and faking the clock under them would only add doubt
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    (slot,) = publish_slots(dr_chau, start=start, count=1)
    book_confirmed(patient_dao, slot, staff=staff_binh)
    return OutboxMessage.objects.get(kind="appointment.confirmed", recipient=patient_dao)


def _first_attempt_sends_only_the_email(message, settings):
    """A previous attempt sent the email and failed on the SMS: now both channels' state differs."""
    settings.SMS_BACKEND = "tests.workflows.notifications.backends.FlakySMSBackend"
    backends.FlakySMSBackend.failures_left = 1
    with pytest.raises(ConnectionError):
        tasks.deliver_outbox_message(message.pk)
    assert len(mail.outbox) == 1


def _race(message_id: int) -> tuple[str, list]:
    """Worker A enters a send and waits there; meanwhile worker B delivers the same message."""
    gate = backends.reset_gate()
    results: list = []

    def worker_a():
        try:
            results.append(tasks.deliver_outbox_message(message_id))
        except Exception as exc:  # reported to the test below
            results.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker_a)
    thread.start()
    try:
        assert gate.entered.wait(timeout=20), "worker A never reached the send"
        outcome_b = tasks.deliver_outbox_message(message_id)
    finally:
        gate.release.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    return outcome_b, results


@pytest.mark.parametrize("parked_in", ["email", "sms"])
def test_a_second_worker_skips_a_message_that_is_being_delivered(message, settings, sms_outbox, parked_in):
    if parked_in == "email":
        settings.EMAIL_BACKEND = "tests.workflows.notifications.backends.GateEmailBackend"
    else:
        _first_attempt_sends_only_the_email(message, settings)
        settings.SMS_BACKEND = "tests.workflows.notifications.backends.GateSMSBackend"

    outcome_b, results_a = _race(message.pk)

    assert outcome_b == "busy or missing"
    assert results_a == ["sent"]
    assert len(mail.outbox) == 1 and len(sms_outbox) == 1
    message.refresh_from_db()
    assert message.status == "sent"


def test_negative_control_without_the_claim_the_message_goes_out_twice(message, settings, sms_outbox, monkeypatch):
    settings.EMAIL_BACKEND = "tests.workflows.notifications.backends.GateEmailBackend"
    monkeypatch.setattr(tasks, "_claim_is_dead", lambda message, now: True)

    outcome_b, results_a = _race(message.pk)

    assert outcome_b == "sent" and results_a == ["sent"]
    assert len(mail.outbox) == 2, "the race this suite guards against is real"
