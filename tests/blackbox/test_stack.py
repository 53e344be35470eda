"""The black-box harness itself: the stack runs the production profile and tests can drive it."""

from __future__ import annotations

from tests.blackbox.helpers import book_first_free_slot


def test_the_stack_runs_gunicorn_with_debug_off_a_worker_postgresql_and_redis(stack):
    body = stack.wait_healthy()
    assert body["checks"]["database"]["vendor"] == "postgresql"
    assert body["checks"]["cache"] == {"ok": True, "kind": "redis"}
    assert body["checks"]["broker"] == {"ok": True, "kind": "redis"}
    assert body["checks"]["worker"]["ok"] is True and body["checks"]["worker"]["started_at"]

    with stack.client() as client:
        missing = client.get("/no-such-page-here/")
    assert missing.status_code == 404
    assert "Traceback" not in missing.text and "DEBUG = True" not in missing.text
    assert "gunicorn" in stack.web.output() and stack.web.alive() and stack.worker.alive()


def test_an_app_logs_in_through_allauth_headless_and_reads_with_its_bearer_token(stack):
    tokens = stack.login("patient1@example.com")
    assert tokens.access and tokens.refresh
    with stack.client(headers={"Authorization": f"Bearer {tokens.access}"}) as client:
        me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["email"] == "patient1@example.com"


def test_the_worker_delivers_a_bookings_email_over_smtp_with_the_outbox_message_id(stack):
    with stack.session("patient2@example.com") as patient:
        appointment = book_first_free_slot(patient)
    ((outbox_id,),) = stack.sql(
        "SELECT o.id FROM core_outboxmessage o JOIN booking_appointment a ON o.object_id = a.id::text"
        " WHERE o.kind = 'appointment.held' AND a.public_id = %s",
        appointment["id"],
    )
    prefix = f"<outbox.{outbox_id}."
    mails = stack.smtp.wait_for(lambda found: any(m.message_id.startswith(prefix) for m in found), timeout=60)
    (held,) = [m for m in mails if m.message_id.startswith(prefix)]
    assert held.rcpt_tos == ["patient2@example.com"] and appointment["id"] in held.text()
