"""Gateways: Stripe Checkout requests checked on a local HTTP server standing in for api.stripe.com,
webhooks verified on the raw body (right secret passes, wrong fails, replays ignored), sandbox."""

import base64
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, AppointmentStatus, Payment, PaymentEvent, PaymentStatus, Refund, RefundStatus
from booking.payments import GatewayNotConfigured, sandbox
from booking.payments.stripe import signature_header, to_minor_units
from booking.services.payments import REFUND_MAX_ATTEMPTS
from core.models import OutboxMessage
from tests.booking.appointments.helpers import details_for
from tests.booking.appointments.stripe_stub import WEBHOOK_SECRET


def held(slot, patient):
    return svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))


def stripe_event(payment, *, event_id="evt_1", kind="checkout.session.completed", amount=None):
    return json.dumps(
        {
            "id": event_id,
            "type": kind,
            "data": {
                "object": {
                    "id": payment.provider_reference,
                    "client_reference_id": str(payment.pk),
                    "payment_status": "paid",
                    "payment_intent": "pi_test_1",
                    "amount_total": to_minor_units(payment.amount if amount is None else amount, payment.currency),
                    "currency": payment.currency.lower(),
                    "metadata": {"payment_id": str(payment.pk)},
                }
            },
        }
    ).encode()


def post_webhook(client, gateway, body, **headers):
    return client.post(
        f"/api/v1/payments/webhooks/{gateway}", data=body, content_type="application/json", headers=headers
    )


def test_stripe_checkout_session_is_requested_with_the_right_form(stripe_server, slots, patient_dao):
    appointment = held(slots[0], patient_dao)
    payment = svc.payment_start(
        appointment=appointment,
        gateway="stripe",
        actor=patient_dao,
        success_url="https://x/ok",
        cancel_url="https://x/no",
    )
    assert payment.checkout_url == "https://checkout.stripe.test/c/pay/cs_test_123"
    assert payment.provider_reference == "cs_test_123"
    sent = stripe_server.requests[0]
    assert sent["path"] == "/v1/checkout/sessions"
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(b"sk_test_medbook:").decode()
    assert sent["headers"]["Idempotency-Key"] == f"medbook-payment-{payment.pk}"
    form = {key: values[0] for key, values in sent["form"].items()}
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][currency]"] == "vnd"
    assert form["line_items[0][price_data][unit_amount]"] == "500000"  # VND has no minor unit
    assert form["metadata[payment_id]"] == str(payment.pk)
    assert form["success_url"] == "https://x/ok"


def test_signed_stripe_webhook_confirms_and_a_replay_is_ignored(client, stripe_server, slots, patient_dao):
    appointment = held(slots[0], patient_dao)
    payment = svc.payment_start(appointment=appointment, gateway="stripe", actor=patient_dao)
    body = stripe_event(payment)
    response = post_webhook(client, "stripe", body, **{"Stripe-Signature": signature_header(body, WEBHOOK_SECRET)})
    assert response.status_code == 200 and response.json()["outcome"] == "processed"
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CONFIRMED
    assert Payment.objects.get(pk=payment.pk).provider_payment_intent == "pi_test_1"
    again = post_webhook(client, "stripe", body, **{"Stripe-Signature": signature_header(body, WEBHOOK_SECRET)})
    assert again.json()["outcome"] == "duplicate"
    assert PaymentEvent.objects.count() == 1


@pytest.mark.parametrize(
    "header",
    [
        lambda body: signature_header(body, "whsec_wrong"),
        lambda body: signature_header(body + b" ", WEBHOOK_SECRET),
        lambda body: signature_header(body, WEBHOOK_SECRET, timestamp=int(time.time()) - 3600),
        lambda body: "garbage",
    ],
    ids=["wrong-secret", "tampered-body", "too-old", "malformed"],
)
def test_badly_signed_stripe_webhooks_are_refused(client, stripe_server, slots, patient_dao, header):
    payment = svc.payment_start(appointment=held(slots[0], patient_dao), gateway="stripe", actor=patient_dao)
    body = stripe_event(payment)
    response = post_webhook(client, "stripe", body, **{"Stripe-Signature": header(body)})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_webhook"
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING


def test_amount_mismatch_is_refused(client, stripe_server, slots, patient_dao):
    payment = svc.payment_start(appointment=held(slots[0], patient_dao), gateway="stripe", actor=patient_dao)
    body = stripe_event(payment, amount=payment.amount - 1000)
    response = post_webhook(client, "stripe", body, **{"Stripe-Signature": signature_header(body, WEBHOOK_SECRET)})
    assert response.status_code == 409
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING


def _paid_by_stripe(client, doctor, patient):
    from tests.booking.appointments.helpers import tomorrow_at
    from tests.factories import publish_slots

    slot = publish_slots(doctor, start=tomorrow_at(4), count=1)[0]
    appointment = held(slot, patient)
    payment = svc.payment_start(appointment=appointment, gateway="stripe", actor=patient)
    body = stripe_event(payment)
    post_webhook(client, "stripe", body, **{"Stripe-Signature": signature_header(body, WEBHOOK_SECRET)})
    return appointment, payment


def test_refund_after_decline_is_queued_then_sent_to_stripe_once_committed(
    client, stripe_server, doctor_review, patient_dao, django_capture_on_commit_callbacks
):
    appointment, payment = _paid_by_stripe(client, doctor_review, patient_dao)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        svc.appointment_decline(appointment=appointment, actor=doctor_review.user, reason="Unavailable")
    # decided and owed inside the transaction, but nothing was sent while it was open
    refund = Refund.objects.get(payment=payment)
    assert refund.status == RefundStatus.PENDING and not [
        r for r in stripe_server.requests if r["path"] == "/v1/refunds"
    ]
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REFUNDED
    for callback in pending:
        callback()  # the commit: the worker task runs (inline in tests)
    refund.refresh_from_db()
    refund_call = [r for r in stripe_server.requests if r["path"] == "/v1/refunds"][0]
    assert refund_call["form"]["payment_intent"] == ["pi_test_1"]
    assert refund_call["headers"]["Idempotency-Key"] == f"medbook-refund-{refund.pk}"
    assert refund.status == RefundStatus.SUCCEEDED and refund.provider_reference == "re_test_1"


def test_a_refund_stripe_refuses_is_retried_with_the_same_key_then_flagged_for_staff(
    client, stripe_server, doctor_review, patient_dao, staff_binh
):
    appointment, payment = _paid_by_stripe(client, doctor_review, patient_dao)
    stripe_server.refund_failures = 2
    svc.appointment_decline(appointment=appointment, actor=doctor_review.user, reason="Unavailable")
    refund = Refund.objects.get(payment=payment)
    now = timezone.now()
    assert svc.refund_deliver(refund_id=refund.pk, now=now) == "retry"
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING and refund.attempts == 1 and refund.last_error
    assert refund.pk not in svc.refunds_due(now=now)  # backing off
    later = refund.next_attempt_at
    assert refund.pk in svc.refunds_due(now=later)
    assert svc.refund_deliver(refund_id=refund.pk, now=later) == "retry"
    assert svc.refund_deliver(refund_id=refund.pk, now=later + timedelta(hours=1)) == "sent"
    keys = {r["headers"]["Idempotency-Key"] for r in stripe_server.requests if r["path"] == "/v1/refunds"}
    assert keys == {f"medbook-refund-{refund.pk}"}
    assert svc.refund_deliver(refund_id=refund.pk, now=later + timedelta(hours=2)) == "skipped"  # never twice

    other, other_payment = _paid_by_stripe_again(client, doctor_review, patient_dao)
    stripe_server.refund_failures = 100
    svc.appointment_decline(appointment=other, actor=doctor_review.user, reason="Unavailable")
    failing = Refund.objects.get(payment=other_payment)
    moment = timezone.now()
    for _ in range(REFUND_MAX_ATTEMPTS):
        outcome = svc.refund_deliver(refund_id=failing.pk, now=moment)
        moment += timedelta(days=1)
    failing.refresh_from_db()
    assert outcome == "failed" and failing.status == RefundStatus.FAILED
    assert OutboxMessage.objects.filter(kind="payment.refund_failed", recipient=staff_binh).exists()


def _paid_by_stripe_again(client, doctor, patient):
    from tests.booking.appointments.helpers import tomorrow_at
    from tests.factories import publish_slots

    slot = publish_slots(doctor, start=tomorrow_at(6), count=1)[0]
    appointment = held(slot, patient)
    payment = svc.payment_start(appointment=appointment, gateway="stripe", actor=patient)
    body = stripe_event(payment, event_id="evt_2")
    post_webhook(client, "stripe", body, **{"Stripe-Signature": signature_header(body, WEBHOOK_SECRET)})
    return appointment, payment


def test_stripe_without_keys_says_it_is_not_configured(settings, slots, patient_dao):
    settings.STRIPE_SECRET_KEY = ""
    settings.PAYMENT_GATEWAYS = ["stripe", "cash"]
    with pytest.raises(GatewayNotConfigured, match="STRIPE_SECRET_KEY"):
        svc.payment_start(appointment=held(slots[0], patient_dao), gateway="stripe", actor=patient_dao)


def test_sandbox_checkout_page_pays_through_the_webhook_path(client, slots, patient_dao, patient_lan):
    appointment = held(slots[0], patient_dao)
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao)
    client.force_login(patient_lan)
    assert client.get(payment.checkout_url).status_code == 404  # not theirs
    client.force_login(patient_dao)
    page = client.get(payment.checkout_url)
    assert page.status_code == 200 and "Pay now" in page.content.decode()
    response = client.post(payment.checkout_url, {"action": "pay"})
    assert response.status_code == 302
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CONFIRMED
    assert PaymentEvent.objects.filter(gateway="sandbox").count() == 1
    # double submit is harmless
    client.post(payment.checkout_url, {"action": "pay"})
    assert PaymentEvent.objects.filter(gateway="sandbox").count() == 1


def test_sandbox_decline_releases_the_slot(client, slots, patient_dao):
    appointment = held(slots[0], patient_dao)
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao)
    client.force_login(patient_dao)
    client.post(payment.checkout_url, {"action": "decline"})
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.EXPIRED


def test_forged_sandbox_webhook_is_refused(client, slots, patient_dao):
    payment = svc.payment_start(appointment=held(slots[0], patient_dao), gateway="sandbox", actor=patient_dao)
    body = sandbox.build_event(payment=payment, outcome="succeeded")
    assert post_webhook(client, "sandbox", body, **{"X-Sandbox-Signature": "0" * 64}).status_code == 400
    ok = post_webhook(client, "sandbox", body, **{"X-Sandbox-Signature": sandbox.sign(body)})
    assert ok.status_code == 200 and ok.json()["outcome"] == "processed"
