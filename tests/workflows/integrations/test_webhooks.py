"""Outbound webhooks: events from the booking, payment, clinical and account services reach a real
receiver signed, are retried on failure with a backoff, logged, replayable, and never go to local or
private addresses unless the clinic allows it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.services import patient_signup_complete
from booking import services as booking
from tests.booking.appointments.helpers import completed_visit, details_for, make_doctor
from tests.factories import make_user, publish_slots
from tests.workflows.integrations.conftest import SECRET, verify
from workflows.integrations import services as svc
from workflows.integrations.models import WebhookDelivery, WebhookEndpoint
from workflows.integrations.tasks import deliver_webhook, retry_due_webhooks


@pytest.fixture
def doctor_binh(db):
    return make_doctor()


@pytest.fixture
def staff(db):
    return make_user("front.desk@clinic.test", "staff", first_name="Hạnh")


def _book(doctor, patient, *, hours=30):
    start = (timezone.now() + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    slot = publish_slots(doctor, start=start, count=1)[0]
    return booking.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))


def test_a_booking_reaches_the_receiver_signed_with_the_documented_payload(
    endpoint, receiver, doctor_binh, patient_dao, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        visit = _book(doctor_binh, patient_dao)
    (request,) = receiver.received
    assert request["signed"], "the receiver verified Medbook-Signature with the endpoint's secret"
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert request["headers"]["Medbook-Event"] == "appointment.booked"
    payload = json.loads(request["body"])
    assert payload["type"] == "appointment.booked" and payload["id"].startswith("evt_")
    assert payload["data"]["appointment"] == {
        "id": visit.pk,
        "public_id": str(visit.public_id),
        "status": "pending_payment",
        "starts_at": visit.starts_at.isoformat().replace("+00:00", "Z"),
        "ends_at": visit.ends_at.isoformat().replace("+00:00", "Z"),
        "mode": visit.mode,
        "doctor_id": doctor_binh.pk,
        "patient_id": patient_dao.pk,
        "price": "500000.00",
        "currency": "VND",
    }
    body = request["body"].decode()
    assert patient_dao.email not in body and "Headache" not in body, "no contact details, no clinical text"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code == 200 and attempt.duration_ms >= 0 and attempt.response_excerpt == '{"ok": true}'
    assert request["headers"]["Medbook-Delivery"] == str(delivery.pk)


def test_the_signature_is_over_the_timestamp_and_the_exact_body():
    header = svc.sign(b'{"a":1}', SECRET, timestamp=int(timezone.now().timestamp()))
    assert header.startswith("t=") and ",v1=" in header
    assert verify(header, b'{"a":1}')
    assert not verify(header, b'{"a":2}'), "a changed body fails"
    assert not verify(header, b'{"a":1}', secret="another")
    old = svc.sign(b'{"a":1}', SECRET, timestamp=int(timezone.now().timestamp()) - 3600)
    assert not verify(old, b'{"a":1}'), "a replayed old signature fails the receiver's tolerance"


def test_the_life_of_a_visit_emits_each_event_once_in_order(
    endpoint, receiver, doctor_binh, patient_dao, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        completed_visit(doctor_binh, patient_dao, staff=staff)
    assert receiver.events() == [
        "appointment.booked",
        "payment.succeeded",
        "appointment.confirmed",
        "appointment.completed",
    ]
    assert all(item["signed"] for item in receiver.received)
    payment = json.loads(receiver.received[1]["body"])["data"]["payment"]
    assert (payment["gateway"], payment["amount"], payment["currency"]) == ("cash", "500000.00", "VND")


def test_reschedule_and_cancel_by_the_clinic(
    endpoint, receiver, doctor_binh, patient_dao, staff, django_capture_on_commit_callbacks
):
    visit = _book(doctor_binh, patient_dao)
    (other,) = publish_slots(doctor_binh, start=visit.starts_at + timedelta(hours=2), count=1)
    receiver.received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking.appointment_reschedule(appointment=visit, new_slot=other, actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        booking.appointment_cancel(appointment=visit, actor=staff, reason="Doctor is ill")
    moved, cancelled = (json.loads(item["body"]) for item in receiver.received)
    assert moved["type"] == "appointment.rescheduled"
    assert moved["data"]["previous_starts_at"] == visit.starts_at.isoformat()
    assert moved["data"]["appointment"]["starts_at"] == other.start.isoformat().replace("+00:00", "Z")
    assert cancelled["type"] == "appointment.cancelled"
    assert cancelled["data"]["cancellation"] == {"by": "staff", "late": False}
    assert "Doctor is ill" not in receiver.received[1]["body"].decode()


def test_a_refund_is_an_event_after_the_gateway_gave_the_money_back(
    endpoint, receiver, doctor_binh, patient_dao, staff, django_capture_on_commit_callbacks
):
    visit = _book(doctor_binh, patient_dao)
    booking.payment_mark_cash_paid(appointment=visit, actor=staff)
    receiver.received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking.appointment_cancel(appointment=visit, actor=staff, reason="Doctor is ill")
    assert receiver.events() == ["appointment.cancelled", "payment.refunded"]
    refunded = json.loads(receiver.received[1]["body"])["data"]
    assert refunded["payment"]["appointment_id"] == visit.pk and refunded["payment"]["status"] == "refunded"
    assert refunded["refund"]["amount"] == "500000.00" and refunded["refund"]["id"]


def test_a_signed_note_and_a_new_patient_are_events_too(
    endpoint, receiver, doctor_binh, patient_dao, staff, django_capture_on_commit_callbacks, settings, tmp_path
):
    from tests.workflows.clinical.helpers import asthma_note
    from workflows.clinical import services as clinical

    settings.CLINICAL_DOCUMENTS_DIR = tmp_path
    visit = completed_visit(doctor_binh, patient_dao, staff=staff)
    note = clinical.visit_note_start(appointment=visit, actor=doctor_binh.user)
    clinical.visit_note_save_draft(note=note, actor=doctor_binh.user, content=asthma_note())
    receiver.received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        clinical.visit_note_sign(note=note, actor=doctor_binh.user)
    (signed,) = (json.loads(item["body"]) for item in receiver.received)
    assert signed["type"] == "note.signed"
    assert signed["data"]["note"]["appointment_id"] == visit.pk and signed["data"]["note"]["version"] == 1
    assert "asthma" not in receiver.received[0]["body"].decode().lower()

    newcomer = make_user("minh.new@example.test", "patient")
    receiver.received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        patient_signup_complete(user=newcomer, first_name="Minh", last_name="Trần")
    (created,) = (json.loads(item["body"]) for item in receiver.received)
    assert created["type"] == "patient.created"
    assert created["data"]["patient"]["id"] == newcomer.pk and created["data"]["patient"]["registered_by"] == "self"


def test_only_active_endpoints_subscribed_to_the_event_get_it(
    endpoint, receiver, doctor_binh, patient_dao, django_capture_on_commit_callbacks
):
    endpoint.events = ["payment.succeeded"]
    endpoint.save()
    WebhookEndpoint.objects.create(
        name="Off", url=receiver.url, secret="x", events=["appointment.booked"], is_active=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        _book(doctor_binh, patient_dao)
    assert receiver.received == [] and not WebhookDelivery.objects.exists()


def test_a_change_that_rolls_back_sends_nothing(endpoint, receiver, doctor_binh, patient_dao):
    with pytest.raises(RuntimeError), transaction.atomic():
        _book(doctor_binh, patient_dao)
        raise RuntimeError("something later in the same transaction failed")
    assert not WebhookDelivery.objects.exists() and receiver.received == []


def test_a_500_is_retried_with_backoff_until_it_succeeds(endpoint, receiver, doctor_binh, patient_dao):
    receiver.failures = 2
    _book(doctor_binh, patient_dao)  # written, not yet sent (no commit in this test)
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    assert deliver_webhook(delivery.pk, now=now) == "pending"
    delivery.refresh_from_db()
    assert (delivery.last_status_code, delivery.next_attempt_at) == (500, now + timedelta(minutes=1))
    assert retry_due_webhooks(now=now + timedelta(seconds=59)) == 0, "not before the backoff is over"
    assert deliver_webhook(delivery.pk, now=now + timedelta(minutes=1)) == "pending"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + timedelta(minutes=1) + timedelta(minutes=2), "the wait doubles"
    assert retry_due_webhooks(now=now + timedelta(minutes=3)) == 1  # the worker runs inline in tests
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)
    assert [a.status_code for a in delivery.attempt_log.order_by("id")] == [500, 500, 200]
    assert all(item["signed"] for item in receiver.received)
    bodies = {item["body"] for item in receiver.received}
    assert len(bodies) == 1, "every attempt sends the same body (re-signed with a fresh timestamp)"
    assert deliver_webhook(delivery.pk) == "already succeeded"


def test_a_delivery_gives_up_after_the_last_attempt(endpoint, receiver, doctor_binh, patient_dao, settings):
    settings.WEBHOOKS_MAX_ATTEMPTS = 2
    receiver.failures = 5
    _book(doctor_binh, patient_dao)
    delivery = WebhookDelivery.objects.get()
    assert deliver_webhook(delivery.pk) == "pending"
    assert deliver_webhook(delivery.pk, now=timezone.now() + timedelta(minutes=1)) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert retry_due_webhooks(now=timezone.now() + timedelta(days=1)) == 0


def test_an_unreachable_receiver_is_logged_without_a_code(endpoint, receiver, doctor_binh, patient_dao):
    endpoint.url = "http://127.0.0.1:9/closed"
    endpoint.save()
    _book(doctor_binh, patient_dao)
    delivery = WebhookDelivery.objects.get()
    assert deliver_webhook(delivery.pk) == "pending"
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and "ConnectionError" in attempt.error


def test_replay_sends_the_same_event_again_as_a_new_delivery(
    endpoint, receiver, doctor_binh, patient_dao, admin_an, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _book(doctor_binh, patient_dao)
    original = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        replay = svc.webhook_delivery_replay(delivery=original, actor=admin_an)
    replay.refresh_from_db()
    assert (replay.status, replay.replay_of, replay.replayed_by) == ("succeeded", original, admin_an)
    assert replay.event_id == original.event_id
    first, second = receiver.received
    assert first["body"] == second["body"] and second["signed"]
    assert second["headers"]["Medbook-Delivery"] == str(replay.pk)
    endpoint.is_active = False
    endpoint.save()
    with pytest.raises(svc.WebhookReplayRefused):
        svc.webhook_delivery_replay(delivery=WebhookDelivery.objects.get(pk=original.pk), actor=admin_an)


# --- SSRF guard -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",
    ],
)
def test_local_and_private_targets_are_refused(settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(svc.WebhookTargetRefused):
        svc.check_target(url)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://93.184.215.14/hook", "https"),
        ("ftp://93.184.215.14/hook", "https"),
        ("https://user:pw@93.184.215.14/hook", "password"),
        ("https://no-such-host.invalid/hook", "resolved"),
    ],
)
def test_other_unsafe_urls_are_refused_with_a_reason(settings, url, says):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(svc.WebhookTargetRefused, match=says):
        svc.check_target(url)


def test_a_public_https_address_is_accepted(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    svc.check_target("https://93.184.215.14/hook")  # no exception (an address: no DNS needed)


def test_the_guard_also_holds_at_delivery_time(endpoint, receiver, doctor_binh, patient_dao, settings):
    _book(doctor_binh, patient_dao)
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False  # e.g. the name now points inside the network
    delivery = WebhookDelivery.objects.get()
    assert deliver_webhook(delivery.pk) == "pending"
    attempt = delivery.attempt_log.get()
    with pytest.raises(svc.WebhookTargetRefused) as refusal:
        svc.check_target(endpoint.url)
    assert attempt.status_code is None and attempt.error == str(refusal.value)
    assert receiver.received == [], "no request left Medbook"


def test_a_booking_reads_the_active_endpoints_as_the_receiver_would(doctor_binh, patient_dao):
    """On PostgreSQL the statement that writes the booking reads the active endpoints too (no query
    of its own); on every database the deliveries are the same: each active endpoint subscribed to
    the event, in the endpoints' order, and an endpoint changed since the last booking counts as now."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workflows.integrations.events import _ACTIVE_ENDPOINTS, active_endpoints_sql, decode_active_endpoints

    make = WebhookEndpoint.objects.create
    second = make(name="B", url="https://b.example/hook", secret="x", events=["appointment.booked"])
    first = make(name="A", url="https://a.example/hook", secret="x", events=["payment.succeeded", "appointment.booked"])
    make(name="C", url="https://c.example/hook", secret="x", events=["payment.succeeded"])
    off = make(name="D", url="https://d.example/hook", secret="x", events=["appointment.booked"], is_active=False)
    sql = active_endpoints_sql(connection)
    if sql is not None:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            assert decode_active_endpoints(cursor.fetchone()[0]) == list(_ACTIVE_ENDPOINTS.rows())
    with CaptureQueriesContext(connection) as queries:
        appointment = _book(doctor_binh, patient_dao)
    separate = [q for q in queries.captured_queries if q["sql"].startswith('SELECT "integrations_webhookendpoint"')]
    assert len(separate) == (0 if connection.vendor == "postgresql" else 1)
    deliveries = WebhookDelivery.objects.filter(payload__data__appointment__id=appointment.pk).order_by("pk")
    assert [d.endpoint_id for d in deliveries] == [first.pk, second.pk]
    off.is_active = True
    off.save()
    second.delete()
    later = _book(doctor_binh, patient_dao, hours=31)
    deliveries = WebhookDelivery.objects.filter(payload__data__appointment__id=later.pk).order_by("pk")
    assert [d.endpoint_id for d in deliveries] == [first.pk, off.pk]
