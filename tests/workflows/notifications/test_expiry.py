"""The periodic hold sweep expires lapsed holds and tells the patient."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail

from core.models import OutboxMessage
from tests.factories import publish_slots
from tests.workflows.notifications.conftest import NOW, VISIT
from tests.workflows.notifications.helpers import book
from workflows.tasks import deliver_outbox_message, expire_lapsed_holds


def test_lapsed_holds_expire_and_the_patient_is_told(frozen, patient_dao, dr_chau):
    (slot,) = publish_slots(dr_chau, start=VISIT, count=1)
    appointment = book(patient_dao, slot)
    assert expire_lapsed_holds() == 0, "the hold is still live"

    frozen.move_to(NOW + timedelta(minutes=11))
    assert expire_lapsed_holds() == 1
    assert expire_lapsed_holds() == 0
    appointment.refresh_from_db()
    assert appointment.status == "expired"
    message = OutboxMessage.objects.get(kind="appointment.hold_expired", recipient=patient_dao)
    assert deliver_outbox_message(message.pk) == "sent"
    assert mail.outbox[0].subject == "Your reserved time with Dr. Châu Test has been released"
