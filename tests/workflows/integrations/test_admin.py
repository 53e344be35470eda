"""The admin's webhook and SMS pages, as a clinic admin, in English and Vietnamese."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import AuditLog
from workflows.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from workflows.messaging.models import SMSMessage, SMSOptOut


def admin_client(user, language: str) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


@pytest.fixture
def delivery(db):
    endpoint = WebhookEndpoint.objects.create(
        name="Clinic CRM", url="https://93.184.215.14/hook", secret="whsec_x", events=["appointment.booked"]
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="appointment.booked",
        payload={"type": "appointment.booked", "data": {"appointment": {"id": 7}}},
        status="pending",
        attempts=1,
        last_status_code=500,
    )
    WebhookAttempt.objects.create(delivery=delivery, status_code=500, duration_ms=87, response_excerpt="oops")
    return delivery


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Webhook deliveries", "Appointment booked", "87", "Replay", "Delivery attempts"]),
        ("vi", ["Lượt gửi webhook", "Đã đặt lịch hẹn", "87", "Gửi lại", "Các lần gửi"]),
    ],
)
def test_the_delivery_log_shows_codes_times_and_a_replay_button(admin_an, delivery, language, words):
    client = admin_client(admin_an, language)
    listing = client.get("/admin/integrations/webhookdelivery/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "87 ms" in html and "500" in html
    page = client.get(f"/admin/integrations/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for word in words:
        assert word in html, word
    assert f"/admin/integrations/webhookdelivery/{delivery.pk}/replay_detail/" in html


@pytest.mark.parametrize(
    ("language", "refusal"),
    [("en", "webhooks go only to public hosts"), ("vi", "webhook chỉ được gửi tới máy chủ công khai")],
)
def test_an_admin_registers_an_endpoint_and_private_targets_are_refused(admin_an, settings, language, refusal):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    client = admin_client(admin_an, language)
    form = client.get("/admin/integrations/webhookendpoint/add/")
    assert form.status_code == 200 and "whsec_" in form.content.decode(), "a secret is proposed"
    data = {
        "name": "Clinic CRM",
        "url": "https://169.254.169.254/latest/meta-data/",
        "events": ["appointment.booked", "payment.succeeded"],
        "is_active": "on",
        "secret": "whsec_chosen",
    }
    refused = client.post("/admin/integrations/webhookendpoint/add/", data)
    assert refused.status_code == 200 and refusal in refused.content.decode()
    assert not WebhookEndpoint.objects.exists()

    saved = client.post("/admin/integrations/webhookendpoint/add/", {**data, "url": "https://93.184.215.14/hook"})
    assert saved.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["appointment.booked", "payment.succeeded"] and endpoint.secret == "whsec_chosen"
    entry = AuditLog.objects.get(action="integrations.endpoint.created")
    assert entry.actor == admin_an and "whsec" not in str(entry.data)

    deleted = client.post(f"/admin/integrations/webhookendpoint/{endpoint.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not WebhookEndpoint.objects.exists()
    assert AuditLog.objects.filter(action="integrations.endpoint.deleted", object_id=str(endpoint.pk)).exists()


@pytest.mark.parametrize("language", ["en", "vi"])
def test_an_admin_switches_texts_off_for_a_number_and_back_on(admin_an, language):
    client = admin_client(admin_an, language)
    assert client.get("/admin/messaging/smsoptout/add/").status_code == 200
    response = client.post("/admin/messaging/smsoptout/add/", {"phone": "0909 000 111", "note": "asked by phone"})
    assert response.status_code == 302
    row = SMSOptOut.objects.get()
    assert (row.phone, row.source) == ("+84909000111", "admin")
    assert AuditLog.objects.filter(action="messaging.sms.opted_out", actor=admin_an).exists()
    again = client.post("/admin/messaging/smsoptout/add/", {"phone": "+84 909 000 111"})
    assert again.status_code == 200 and SMSOptOut.objects.count() == 1
    deleted = client.post(f"/admin/messaging/smsoptout/{row.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not SMSOptOut.objects.exists()
    assert AuditLog.objects.filter(action="messaging.sms.opted_in", actor=admin_an).exists()


def test_the_text_message_log_lists_provider_ids_and_statuses(admin_an):
    SMSMessage.objects.create(
        to="+84909000111", provider="twilio", provider_message_id="SM123", status="delivered", encoding="UCS-2"
    )
    html = admin_client(admin_an, "vi").get("/admin/messaging/smsmessage/").content.decode()
    assert "SM123" in html and "+84909000111" in html
    assert "Đã đến máy người nhận" in html, "the status in words, in Vietnamese"
