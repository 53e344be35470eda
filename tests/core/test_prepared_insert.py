"""``core.prepared.PreparedInsert`` writes the row ``save()`` writes (with its signals), and the hot
cursor runs statements longer than psycopg caches with each run's own values (issue 19)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_save

from core.models import AuditLog, OutboxMessage
from core.outbox import outbox_unless_present
from core.prepared import hot_cursor, insert_for
from tests.factories import make_user

pytestmark = pytest.mark.django_db

COMPARED = ("actor_id", "action", "object_type", "object_id", "data")


def test_an_insert_writes_the_row_save_writes_and_sends_its_signals():
    actor = make_user("staff@clinic.test", "staff")
    seen = []

    def note(sender, instance, **kwargs):
        seen.append((kwargs.get("created"), instance.pk))

    saved = AuditLog(actor_id=actor.pk, action="core.test.done", object_type="x.y", object_id="7", data={"a": [1]})
    saved.save()
    prepared = AuditLog(actor_id=actor.pk, action="core.test.done", object_type="x.y", object_id="7", data={"a": [1]})
    pre_save.connect(note, sender=AuditLog)
    post_save.connect(note, sender=AuditLog)
    try:
        assert insert_for(AuditLog).insert(prepared) is True
    finally:
        pre_save.disconnect(note, sender=AuditLog)
        post_save.disconnect(note, sender=AuditLog)
    assert seen == [(None, None), (True, prepared.pk)]
    assert prepared.pk != saved.pk and not prepared._state.adding and prepared.created_at is not None
    one, other = (AuditLog.objects.filter(pk=pk).values(*COMPARED).get() for pk in (saved.pk, prepared.pk))
    assert one == other


def test_an_insert_that_makes_no_row_says_so():
    patient = make_user("an@example.test", "patient")
    first = OutboxMessage(kind="k", recipient=patient, object_type="x", object_id="1", dedupe_key="same")
    again = OutboxMessage(kind="k", recipient=patient, object_type="x", object_id="1", dedupe_key="same")
    assert insert_for(OutboxMessage).insert(first, suffix=outbox_unless_present(connection)) is True
    assert insert_for(OutboxMessage).insert(again, suffix=outbox_unless_present(connection)) is False
    assert again.pk is None and again._state.adding and OutboxMessage.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's conversion of a long statement")
def test_a_long_hot_statement_answers_each_runs_own_values():
    # longer than psycopg's 4 kB and 50 parameters that it converts once: converted once here
    values = ", ".join(f"%s AS c{number}_{'x' * 60}" for number in range(60))
    sql = f"SELECT {values}"
    assert len(sql) > 4096
    for run in range(3):
        with hot_cursor(connection) as cursor:
            cursor.execute(sql, [run * 100 + number for number in range(60)])
            assert cursor.fetchone() == tuple(run * 100 + number for number in range(60))
