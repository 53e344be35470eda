"""A doctor pays their subscription online ("Pay now"): a checkout through the clinic's gateway (the
sandbox, or Stripe against a local stand-in), and the verified webhook credits and renews the
subscription exactly once, writes its history and issues the renewal's invoice after commit."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from booking.models import Invoice, PaymentEvent
from booking.payments import CHARGE_HANDLERS, sandbox
from booking.payments.stripe import signature_header
from booking.services import payment_webhook_process
from core.errors import NotFound
from tests.booking.appointments.stripe_stub import WEBHOOK_SECRET
from workflows.clinic.models import (
    ChargeStatus,
    DoctorSubscription,
    SubscriptionCharge,
    SubscriptionEvent,
    SubscriptionPlan,
    SubscriptionStatus,
)
from workflows.clinic.services import subscription_checkout_start, subscription_start
from workflows.clinic.tasks import subscriptions_sweep


@pytest.fixture
def monthly(db):
    return SubscriptionPlan.objects.create(name="Monthly", price=Decimal("1000000"), period_months=1)


@pytest.fixture
def subscription(dr_an, monthly, admin_an):
    return subscription_start(doctor=dr_an, plan=monthly, actor=admin_an, paid=False)


def kinds(subscription) -> list[str]:
    return list(subscription.events.order_by("id").values_list("kind", flat=True))


def url(subscription, rest=""):
    return f"/admin/clinic/doctorsubscription/{subscription.pk}/{rest}"


def post_webhook(client, gateway, body, **headers):
    return client.post(
        f"/api/v1/payments/webhooks/{gateway}", data=body, content_type="application/json", headers=headers
    )


def test_the_subscription_kind_is_registered_by_the_clinic_app():
    # booking never imports workflows: the clinic app plugs its handler in at ready()
    assert "subscription" in CHARGE_HANDLERS


def test_a_doctor_pays_with_the_sandbox_and_the_subscription_is_renewed_once_with_an_invoice(
    client, subscription, dr_an, django_capture_on_commit_callbacks
):
    end = subscription.current_period_end
    client.force_login(dr_an.user)
    page = client.get(url(subscription, "change/")).content.decode()
    assert "pay_now_detail" in page and "1,000,000 ₫" in page  # what is due
    response = client.post(url(subscription, "pay_now_detail/"), {"_form_submitted": "on"})
    charge = SubscriptionCharge.objects.get()
    assert charge.gateway == "sandbox" and charge.amount == Decimal("1000000") and charge.status == "pending"
    assert response.status_code == 302 and response.url == url(subscription, f"pay/{charge.pk}/sandbox/")
    assert "Test gateway" in client.get(response.url).content.decode()
    assert DoctorSubscription.objects.get().current_period_end == end  # opening a checkout changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(response.url, {"action": "pay"})
    assert done.status_code == 302 and done.url == url(subscription, "change/")
    renewed = DoctorSubscription.objects.get()
    assert renewed.status == SubscriptionStatus.ACTIVE and renewed.credit == 0
    assert renewed.current_period_start == end and renewed.current_period_end > end  # the next period, paid
    assert kinds(subscription) == ["started", "payment_recorded", "renewed"]
    charge.refresh_from_db()
    renewal = SubscriptionEvent.objects.get(kind="renewed")
    assert charge.status == ChargeStatus.SUCCEEDED and charge.renewal == renewal
    assert renewal.reference == charge.provider_reference
    invoice = Invoice.objects.get()
    assert invoice.source == f"clinic.subscriptionevent:{renewal.pk}" and invoice.recipient == dr_an.user
    assert invoice.total == Decimal("1000000.00")
    assert "sandbox" in json.dumps(invoice.data, ensure_ascii=False).lower()  # paid by card, not from credit

    # the checkout page cannot be paid twice, and nothing is due any more
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response.url, {"action": "pay"})
    assert kinds(subscription) == ["started", "payment_recorded", "renewed"] and Invoice.objects.count() == 1
    assert "pay_now_detail" not in client.get(url(subscription, "change/")).content.decode()
    assert client.post(url(subscription, "pay_now_detail/"), {"_form_submitted": "on"}).status_code == 403


def test_a_declined_sandbox_checkout_changes_nothing(client, subscription, dr_an, django_capture_on_commit_callbacks):
    before = DoctorSubscription.objects.values().get()
    client.force_login(dr_an.user)
    response = client.post(url(subscription, "pay_now_detail/"), {"_form_submitted": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response.url, {"action": "decline"})
    charge = SubscriptionCharge.objects.get()
    assert charge.status == ChargeStatus.FAILED and charge.renewal is None
    after = DoctorSubscription.objects.values().get()
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert kinds(subscription) == ["started"] and not Invoice.objects.exists()
    # a new Pay now opens a fresh checkout
    again = client.post(url(subscription, "pay_now_detail/"), {"_form_submitted": "on"})
    assert SubscriptionCharge.objects.count() == 2 and "/sandbox/" in again.url


def test_an_overdue_doctor_who_pays_is_renewed_from_today_and_bookable_again(
    client, subscription, dr_an, django_capture_on_commit_callbacks
):
    later = subscription.current_period_end + timedelta(days=3)
    assert subscriptions_sweep(now=later) == {"overdue": 1}
    dr_an.refresh_from_db()
    assert dr_an.accepts_bookings is False
    client.force_login(dr_an.user)
    response = client.post(url(subscription, "pay_now_detail/"), {"_form_submitted": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response.url, {"action": "pay"})
    renewed = DoctorSubscription.objects.get()
    assert renewed.status == SubscriptionStatus.ACTIVE
    assert abs(renewed.current_period_start - timezone.now()) < timedelta(minutes=1)
    dr_an.refresh_from_db()
    assert dr_an.accepts_bookings is True


def test_a_doctor_cannot_pay_or_open_another_doctors_subscription(
    client, subscription, dr_an, dr_bao, admin_an, monthly
):
    client.force_login(dr_bao.user)
    assert client.get(url(subscription, "change/")).status_code in (302, 404)  # not theirs: not found
    assert client.post(url(subscription, "pay_now_detail/"), {"_form_submitted": "on"}).status_code in (403, 404)
    with pytest.raises(NotFound):
        subscription_checkout_start(subscription=subscription, actor=dr_bao.user, sandbox_page=str)
    # the clinic admin records payments; paying online is the doctor's own
    with pytest.raises(NotFound):
        subscription_checkout_start(subscription=subscription, actor=admin_an, sandbox_page=str)
    assert not SubscriptionCharge.objects.exists()

    # Dr An's checkout page is theirs alone
    charge = subscription_checkout_start(subscription=subscription, actor=dr_an.user, sandbox_page=str)
    page = url(subscription, f"pay/{charge.pk}/sandbox/")
    assert client.get(page).status_code == 404
    assert client.post(page, {"action": "pay"}).status_code == 404
    assert SubscriptionCharge.objects.get().status == ChargeStatus.PENDING
    # Dr Bảo's own subscription list shows only theirs
    subscription_start(doctor=dr_bao, plan=monthly, actor=admin_an)
    listing = client.get("/admin/clinic/doctorsubscription/").content.decode()
    assert "Trần" in listing and "Lê" not in listing


def stripe_event(charge, *, event_id="evt_sub_1", kind="checkout.session.completed", amount=None):
    return json.dumps(
        {
            "id": event_id,
            "type": kind,
            "data": {
                "object": {
                    "id": charge.provider_reference,
                    "client_reference_id": f"subscription-{charge.pk}",
                    "payment_status": "paid",
                    "payment_intent": "pi_sub_1",
                    "amount_total": int(charge.amount if amount is None else amount),
                    "currency": "vnd",
                    "metadata": {"kind": "subscription", "charge_id": str(charge.pk)},
                }
            },
        }
    ).encode()


def test_stripe_checkout_for_a_subscription_and_its_signed_webhook_renew_once(
    client, stripe_server, subscription, dr_an, django_capture_on_commit_callbacks
):
    client.force_login(dr_an.user)
    response = client.post(url(subscription, "pay_now_detail/"), {"_form_submitted": "on"})
    assert response.status_code == 302 and response.url == "https://checkout.stripe.test/c/pay/cs_test_123"
    charge = SubscriptionCharge.objects.get()
    assert charge.gateway == "stripe" and charge.provider_reference == "cs_test_123"
    sent = stripe_server.requests[0]
    assert sent["path"] == "/v1/checkout/sessions"
    assert sent["headers"]["Idempotency-Key"] == f"medbook-subscription-charge-{charge.pk}"
    form = {key: values[0] for key, values in sent["form"].items()}
    assert form["metadata[kind]"] == "subscription" and form["metadata[charge_id]"] == str(charge.pk)
    assert form["line_items[0][price_data][unit_amount]"] == "1000000"
    assert form["customer_email"] == dr_an.user.email and "metadata[payment_id]" not in form
    assert form["success_url"].endswith(url(subscription, "change/"))

    body = stripe_event(charge)
    forged = post_webhook(client, "stripe", body, **{"Stripe-Signature": signature_header(body, "whsec_wrong")})
    assert forged.status_code == 400 and SubscriptionCharge.objects.get().status == ChargeStatus.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        ok = post_webhook(client, "stripe", body, **{"Stripe-Signature": signature_header(body, WEBHOOK_SECRET)})
    assert ok.status_code == 200 and ok.json()["outcome"] == "processed"
    end = DoctorSubscription.objects.get().current_period_end
    assert kinds(subscription) == ["started", "payment_recorded", "renewed"]
    assert Invoice.objects.count() == 1

    # a replay (same event id) and a second event for the same checkout change nothing
    with django_capture_on_commit_callbacks(execute=True):
        again = post_webhook(client, "stripe", body, **{"Stripe-Signature": signature_header(body, WEBHOOK_SECRET)})
        other = stripe_event(charge, event_id="evt_sub_2", kind="checkout.session.async_payment_succeeded")
        second = post_webhook(client, "stripe", other, **{"Stripe-Signature": signature_header(other, WEBHOOK_SECRET)})
    assert again.json()["outcome"] == "duplicate" and second.json()["outcome"] == "processed"
    assert DoctorSubscription.objects.get().current_period_end == end
    assert kinds(subscription) == ["started", "payment_recorded", "renewed"] and Invoice.objects.count() == 1
    assert PaymentEvent.objects.filter(gateway="stripe").count() == 2


def test_an_expired_stripe_checkout_or_a_wrong_amount_renews_nothing(
    client, stripe_server, subscription, dr_an, django_capture_on_commit_callbacks
):
    charge = subscription_checkout_start(subscription=subscription, actor=dr_an.user, sandbox_page=str)
    wrong = stripe_event(charge, event_id="evt_low", amount=charge.amount - 1000)
    response = post_webhook(client, "stripe", wrong, **{"Stripe-Signature": signature_header(wrong, WEBHOOK_SECRET)})
    assert response.status_code == 409
    expired = stripe_event(charge, event_id="evt_exp", kind="checkout.session.expired")
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, "stripe", expired, **{"Stripe-Signature": signature_header(expired, WEBHOOK_SECRET)})
    assert SubscriptionCharge.objects.get().status == ChargeStatus.FAILED
    assert kinds(subscription) == ["started"] and DoctorSubscription.objects.get().credit == 0
    assert not Invoice.objects.exists()


def test_a_sandbox_event_for_an_unknown_charge_is_not_found(subscription, dr_an):
    body = json.dumps({"id": "sbx_evt_x", "type": "payment.succeeded", "kind": "subscription", "charge": 999}).encode()
    with pytest.raises(NotFound):
        payment_webhook_process(gateway="sandbox", body=body, headers={sandbox.SIGNATURE_HEADER: sandbox.sign(body)})
    assert not PaymentEvent.objects.exists()  # refused events are not stored: the gateway retries


def test_the_doctor_workspace_says_what_is_due_and_links_to_pay_now(client, subscription, dr_an):
    client.force_login(dr_an.user)
    page = client.get("/admin/").content.decode()
    assert 'id="subscription-due"' in page and "1,000,000 ₫" in page and url(subscription, "change/") in page
    type(dr_an.user).objects.filter(pk=dr_an.user.pk).update(language="vi")
    client.cookies["django_language"] = "vi"
    assert "cho kỳ tiếp theo" in client.get("/admin/").content.decode()
    # paid ahead: nothing due, no banner
    DoctorSubscription.objects.filter(pk=subscription.pk).update(current_period_end=timezone.now() + timedelta(days=60))
    assert 'id="subscription-due"' not in client.get("/admin/").content.decode()
