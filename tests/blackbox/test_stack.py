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


def test_the_api_answers_429_with_retry_after_once_one_ip_spends_its_budget(stack):
    """API_RATE_LIMIT_PER_IP (300 on the stack) per window, counted in Redis across gunicorn workers."""
    ok = 0
    refused = None
    with stack.client(headers={"Accept-Language": "vi"}) as client:
        for _ in range(650):  # two windows at most, if the first one ends while we count
            response = client.get("/api/v1/specialties")
            if response.status_code == 429:
                refused = response
                break
            assert response.status_code == 200, response.text
            ok += 1
    assert refused is not None, f"{ok} requests and no 429"
    assert ok >= 300
    seconds = int(refused.headers["Retry-After"])
    assert 1 <= seconds <= 60
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and error["details"]["retryAfter"] == seconds
    assert error["message"].startswith("Quá nhiều yêu cầu")
    stack.reset_rate_limits()
    with stack.client() as client:
        assert client.get("/api/v1/specialties").status_code == 200
