"""``outbox_add`` writes a message once per dedupe key, in one statement (no savepoint): a duplicate
answers None and leaves the surrounding transaction usable."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import OutboxMessage
from core.outbox import outbox_add
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_a_duplicate_key_is_not_written_twice_and_the_transaction_goes_on():
    person = make_user("outbox@example.test", "patient")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        first = outbox_add(kind="test.kind", recipient=person, obj=person, dedupe_key="test:once")
        again = outbox_add(kind="test.kind", recipient=person, obj=person, dedupe_key="test:once")
        other = outbox_add(kind="test.kind", recipient=person, obj=person)  # the default key
        assert OutboxMessage.objects.filter(dedupe_key="test:once").count() == 1  # still usable
    assert first is not None and first.pk and again is None and other is not None
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"].upper()]
    row = OutboxMessage.objects.get(pk=first.pk)
    assert (row.kind, row.recipient_id, row.object_id, row.status) == (
        "test.kind",
        person.pk,
        str(person.pk),
        "pending",
    )
    assert row.created_at is not None and other.dedupe_key == f"test.kind:accounts.user:{person.pk}:{person.pk}"


def test_an_email_only_message_keeps_its_address():
    message = outbox_add(kind="test.mail", to_email=" Someone@Example.TEST ", language="vi")
    row = OutboxMessage.objects.get(pk=message.pk)
    assert row.to_email == "someone@example.test" and row.recipient_id is None and row.language == "vi"
    assert outbox_add(kind="test.mail", to_email="someone@example.test") is None
