"""The crash window of outbox delivery: a worker that dies between a provider accepting a message
and recording it. Email is sent again with the same Message-ID; SMS is not sent again, and an
error says so. The worker's death is real: its claim names a process that has exited.

The black-box fault suite (tests/blackbox/test_faults.py) kills a real worker in the middle of an
SMTP conversation; these tests pin down the rules on one message.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core.models import OutboxMessage
from tests.factories import publish_slots
from tests.workflows.notifications.conftest import NOW, VISIT
from tests.workflows.notifications.helpers import book_confirmed
from workflows.models import Notification
from workflows.tasks import (
    CLAIM_LEASE,
    SMS_OUTCOME_UNKNOWN,
    deliver_outbox_message,
    outbox_message_id,
    retry_pending_outbox,
)


@pytest.fixture
def confirmation(frozen, patient_dao, dr_chau, staff_binh):
    (slot,) = publish_slots(dr_chau, start=VISIT, count=1)
    book_confirmed(patient_dao, slot, staff=staff_binh)
    OutboxMessage.objects.exclude(kind="appointment.confirmed", recipient=patient_dao).update(status="sent")
    return OutboxMessage.objects.get(kind="appointment.confirmed", recipient=patient_dao)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def _left_by_a_dead_worker(message, *, email_started=False, email_sent=False, sms_started=False, host=None):
    """The rows as a worker leaves them when it is killed after committing these steps."""
    OutboxMessage.objects.filter(pk=message.pk).update(
        status="sending",
        attempts=1,
        claimed_by=f"{host or socket.gethostname()}:{_dead_pid()}",
        claimed_until=timezone.now() + CLAIM_LEASE,
    )
    now = timezone.now()
    Notification.objects.create(
        outbox=message,
        recipient=message.recipient,
        kind=message.kind,
        title="Confirmed",
        email_started_at=now if email_started else None,
        email_sent_at=now if email_sent else None,
        sms_started_at=now if sms_started else None,
    )


def test_every_attempt_carries_the_message_id_of_the_outbox_row(confirmation):
    assert deliver_outbox_message(confirmation.pk) == "sent"
    (email,) = mail.outbox
    expected = f"<outbox.{confirmation.pk}.{NOW:%Y%m%d%H%M%S}@medbook.local>"
    assert email.extra_headers["Message-ID"] == expected == outbox_message_id(confirmation)
    assert email.message()["Message-ID"] == expected


def test_an_email_whose_worker_died_mid_send_goes_again_with_the_same_message_id(confirmation, sms_outbox):
    _left_by_a_dead_worker(confirmation, email_started=True)

    assert deliver_outbox_message(confirmation.pk) == "sent"
    (email,) = mail.outbox
    assert email.message()["Message-ID"] == outbox_message_id(confirmation)
    assert len(sms_outbox) == 1, "the SMS had not been started: it goes out normally"
    confirmation.refresh_from_db()
    assert (confirmation.status, confirmation.attempts, confirmation.claimed_by) == ("sent", 2, "")


def test_an_sms_whose_worker_died_mid_send_is_not_sent_again_and_an_error_says_so(confirmation, sms_outbox, caplog):
    _left_by_a_dead_worker(confirmation, email_started=True, email_sent=True, sms_started=True)

    with caplog.at_level(logging.ERROR, logger="workflows.tasks"):
        assert deliver_outbox_message(confirmation.pk) == "sent"
    assert mail.outbox == [] and sms_outbox == []
    confirmation.refresh_from_db()
    assert confirmation.status == "sent" and confirmation.last_error == SMS_OUTCOME_UNKNOWN
    assert [r.levelname for r in caplog.records if SMS_OUTCOME_UNKNOWN in r.getMessage()] == ["ERROR"]


def test_a_live_claim_is_left_alone_and_a_lapsed_one_on_another_host_is_taken_over(confirmation, frozen):
    OutboxMessage.objects.filter(pk=confirmation.pk).update(
        status="sending", attempts=1, claimed_by="worker-2.internal:4242", claimed_until=NOW + CLAIM_LEASE
    )
    assert deliver_outbox_message(confirmation.pk) == "busy or missing"
    assert retry_pending_outbox() == 0, "the other machine's worker may still be sending it"
    assert mail.outbox == []

    frozen.move_to(NOW + CLAIM_LEASE + timedelta(seconds=1))
    assert retry_pending_outbox() == 1  # the sweep's delivery runs inline in tests
    confirmation.refresh_from_db()
    assert confirmation.status == "sent" and len(mail.outbox) == 1


def test_the_sweep_takes_over_a_dead_local_worker_at_once(confirmation):
    _left_by_a_dead_worker(confirmation)
    assert retry_pending_outbox(min_age=timedelta(0)) == 1
    confirmation.refresh_from_db()
    assert confirmation.status == "sent" and len(mail.outbox) == 1


def test_a_claim_by_this_living_process_is_not_dead(confirmation):
    import os

    OutboxMessage.objects.filter(pk=confirmation.pk).update(
        status="sending",
        attempts=1,
        claimed_by=f"{socket.gethostname()}:{os.getpid()}",
        claimed_until=timezone.now() + CLAIM_LEASE,
    )
    assert retry_pending_outbox(min_age=timedelta(0)) == 0
    assert deliver_outbox_message(confirmation.pk) == "busy or missing"
