"""Real SMS providers, against a local server that checks requests like Twilio and a JSON gateway do:
sending, status callbacks (signed; forged ones refused), STOP replies and admin opt-outs, quiet hours
for reminders, and retries with backoff through the outbox."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from booking.services import payment_mark_cash_paid
from core.models import OutboxMessage
from tests.factories import publish_slots
from tests.workflows.notifications.conftest import PATIENT_PHONE, VISIT
from tests.workflows.notifications.helpers import book, book_confirmed
from tests.workflows.notifications.sms_provider_stub import GATEWAY_SECRET, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN
from workflows import sms
from workflows.messaging.models import SMSMessage, SMSOptOut
from workflows.messaging.sms import quiet_hours_end, sms_opt_out, sms_send
from workflows.models import Notification
from workflows.tasks import deliver_outbox_message, retry_pending_outbox, send_due_reminders

PATIENT_E164 = "+33612345678"
DAY = timedelta(days=1)


# --- the clients --------------------------------------------------------------------------------


def test_twilio_gets_a_form_post_with_basic_auth_and_a_status_callback(db, providers):
    message = sms_send(phone="+33 6 12 34 56 78", text="Lịch hẹn của bạn đã được xác nhận.")
    (request,) = providers.requests
    expected_auth = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert request["path"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request["headers"]["Authorization"] == expected_auth
    assert request["form"] == {
        "To": PATIENT_E164,
        "From": TWILIO_FROM,
        "Body": "Lịch hẹn của bạn đã được xác nhận.",
        "StatusCallback": f"https://medbook.test/hooks/sms/twilio/status?m={message.pk}",
    }
    message.refresh_from_db()
    assert message.provider == "twilio" and message.provider_message_id == f"SM{1:032x}"
    assert (message.status, message.provider_status) == ("queued", "queued")
    assert (message.encoding, message.segments, message.to) == ("UCS-2", 1, PATIENT_E164)


def test_twilio_with_a_messaging_service_sends_no_from(db, providers, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG0000000000000000000000000000000a"
    sms_send(phone=PATIENT_PHONE, text="hi")
    form = providers.requests[0]["form"]
    assert form["MessagingServiceSid"] == "MG0000000000000000000000000000000a" and "From" not in form


def test_twilio_with_wrong_credentials_is_an_error_that_is_retried(db, providers, settings):
    settings.TWILIO_AUTH_TOKEN = "wrong"
    with pytest.raises(sms.SMSRejected, match="401"):
        sms.send_sms(PATIENT_PHONE, "hi")


def test_a_number_twilio_refuses_is_recorded_as_failed_not_retried(db, providers):
    message = sms_send(phone="12", text="hi")
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == "21211"
    assert "not valid" in message.error


def test_the_json_gateway_gets_its_own_field_names_and_auth_header(db, providers, settings):
    settings.SMS_BACKEND = "workflows.sms.HttpJsonSMSBackend"
    message = sms_send(phone="0909 000 111", text="Hello")
    (request,) = providers.requests
    assert request["path"] == "/gateway/send"
    assert request["headers"]["Authorization"] == "Bearer gw-test-token"
    assert request["json"] == {
        "msisdn": "+84909000111",
        "message": "Hello",
        "sender": "MEDBOOK",
        "dlr_url": f"https://medbook.test/hooks/sms/http/status?m={message.pk}",
    }
    message.refresh_from_db()
    assert (message.provider, message.provider_message_id, message.status) == ("http", "gw-1", "queued")
    assert message.encoding == "GSM-7"


@pytest.mark.parametrize(
    ("backend", "unset", "named"),
    [
        ("workflows.sms.TwilioSMSBackend", "TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN"),
        ("workflows.sms.TwilioSMSBackend", "TWILIO_FROM_NUMBER", "TWILIO_FROM_NUMBER"),
        ("workflows.sms.HttpJsonSMSBackend", "SMS_HTTP_URL", "SMS_HTTP_URL"),
    ],
)
def test_a_provider_without_credentials_says_which_to_set(settings, providers, backend, unset, named):
    settings.SMS_BACKEND = backend
    setattr(settings, unset, "")
    with pytest.raises(ImproperlyConfigured, match=named) as error:
        sms.send_sms(PATIENT_PHONE, "hi")
    assert "README" in str(error.value)


# --- status callbacks ---------------------------------------------------------------------------


def _twilio_post(client, path, params, *, token=TWILIO_TOKEN, signature=None):
    signature = signature or sms.twilio_signature(f"https://medbook.test{path}", params, token)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_a_signed_twilio_status_callback_is_recorded_and_only_moves_forward(db, providers):
    message = sms_send(phone=PATIENT_PHONE, text="hi")
    message.refresh_from_db()
    client = Client()
    path = f"/hooks/sms/twilio/status?m={message.pk}"
    common = {"MessageSid": message.provider_message_id, "AccountSid": TWILIO_SID}
    assert _twilio_post(client, path, {**common, "MessageStatus": "delivered"}).status_code == 200
    message.refresh_from_db()
    assert (message.status, message.provider_status) == ("delivered", "delivered") and message.status_at
    # a late "sent" arriving after "delivered" does not move it back
    assert _twilio_post(client, path, {**common, "MessageStatus": "sent"}).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"


def test_an_undelivered_report_keeps_the_error_code(db, providers):
    message = sms_send(phone=PATIENT_PHONE, text="hi")
    message.refresh_from_db()
    path = f"/hooks/sms/twilio/status?m={message.pk}"
    params = {"MessageSid": message.provider_message_id, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert _twilio_post(Client(), path, params).status_code == 200
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("undelivered", "30003")


@pytest.mark.parametrize(
    "forge",
    [
        lambda path, params: {"token": "not-the-token"},  # signed with another key
        lambda path, params: {"signature": "bm90IGEgc2lnbmF0dXJl"},
        lambda path, params: {"signature": sms.twilio_signature("https://evil.test" + path, params, TWILIO_TOKEN)},
    ],
)
def test_a_forged_twilio_callback_is_refused_and_changes_nothing(db, providers, forge):
    message = sms_send(phone=PATIENT_PHONE, text="hi")
    message.refresh_from_db()
    path = f"/hooks/sms/twilio/status?m={message.pk}"
    params = {"MessageSid": message.provider_message_id, "MessageStatus": "delivered"}
    assert _twilio_post(Client(), path, params, **forge(path, params)).status_code == 403
    # a parameter changed after signing
    signature = sms.twilio_signature(f"https://medbook.test{path}", params, TWILIO_TOKEN)
    tampered = {**params, "MessageStatus": "failed"}
    assert Client().post(path, tampered, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 403
    assert Client().post(path, params).status_code == 403  # no signature at all
    message.refresh_from_db()
    assert message.status == "queued"


def test_a_callback_for_another_message_id_is_not_applied(db, providers):
    first = sms_send(phone=PATIENT_PHONE, text="one")
    second = sms_send(phone=PATIENT_PHONE, text="two")
    second.refresh_from_db()
    path = f"/hooks/sms/twilio/status?m={first.pk}"
    params = {"MessageSid": second.provider_message_id, "MessageStatus": "failed"}
    assert _twilio_post(Client(), path, params).json() == {"recorded": False}
    first.refresh_from_db()
    assert first.status == "queued"


def _gateway_post(client, path, data, *, secret=GATEWAY_SECRET):
    body = json.dumps(data).encode()
    return client.post(
        path, body, content_type="application/json", HTTP_X_GATEWAY_SIGNATURE=sms.http_json_signature(body, secret)
    )


def test_the_gateway_status_callback_is_verified_by_hmac_sha256(db, providers, settings):
    settings.SMS_BACKEND = "workflows.sms.HttpJsonSMSBackend"
    message = sms_send(phone=PATIENT_PHONE, text="hi")
    path = f"/hooks/sms/http/status?m={message.pk}"
    report = {"data": {"id": "gw-1"}, "state": "delivered"}
    assert _gateway_post(Client(), path, report, secret="forged").status_code == 403
    message.refresh_from_db()
    assert message.status == "queued"
    assert _gateway_post(Client(), path, report).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    garbage = b"not json"
    response = Client().post(
        path,
        garbage,
        content_type="application/json",
        HTTP_X_GATEWAY_SIGNATURE=sms.http_json_signature(garbage, GATEWAY_SECRET),
    )
    assert response.status_code == 400


def test_callbacks_for_an_unconfigured_provider_are_not_found(db, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    assert Client().post("/hooks/sms/twilio/status", {"MessageStatus": "sent"}).status_code == 404
    assert Client().post("/hooks/sms/nosuch/status", {}).status_code == 404
    assert Client().get("/hooks/sms/twilio/status").status_code == 405


# --- opt-out --------------------------------------------------------------------------------------


def test_stop_by_reply_opts_the_number_out_and_start_back_in(db, providers):
    client = Client()
    stop = {"From": PATIENT_E164, "Body": " stop ", "To": TWILIO_FROM}
    response = _twilio_post(client, "/hooks/sms/twilio/inbound", stop)
    assert response.status_code == 200 and response["Content-Type"] == "text/xml"
    # the profile keeps the number as typed ("+33 6 12 34 56 78"): the same person
    assert SMSOptOut.objects.get().phone == PATIENT_E164
    from workflows.messaging.sms import sms_opted_out

    assert sms_opted_out(PATIENT_PHONE)
    forged = {"From": "+84909000111", "Body": "STOP"}
    assert _twilio_post(client, "/hooks/sms/twilio/inbound", forged, token="x").status_code == 403
    assert SMSOptOut.objects.count() == 1
    _twilio_post(client, "/hooks/sms/twilio/inbound", {"From": PATIENT_E164, "Body": "START"})
    assert not SMSOptOut.objects.exists()


def test_the_gateway_inbound_stop_in_vietnamese(db, providers):
    response = _gateway_post(Client(), "/hooks/sms/http/inbound", {"sender": "0909000111", "message": "Hủy"})
    assert response.json() == {"outcome": "stopped"}
    assert SMSOptOut.objects.get().phone == "+84909000111"


@pytest.fixture
def slot(dr_chau):
    return publish_slots(dr_chau, start=VISIT, count=1)[0]


def test_an_opted_out_number_gets_no_text_but_still_the_email(
    frozen, patient_dao, dr_chau, staff_binh, slot, sms_outbox, django_capture_on_commit_callbacks
):
    sms_opt_out(phone="+33612345678", source=SMSOptOut.Source.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(patient_dao, slot)
        payment_mark_cash_paid(appointment=appointment, actor=staff_binh)
    assert sms_outbox == []
    confirmed = OutboxMessage.objects.get(kind="appointment.confirmed", recipient=patient_dao)
    assert confirmed.status == "sent" and "opted out" in confirmed.last_error
    assert Notification.objects.get(outbox=confirmed).email_sent_at is not None


# --- through the outbox: retries and quiet hours ---------------------------------------------------


def test_a_provider_outage_is_retried_from_the_outbox_with_backoff(
    frozen, patient_dao, dr_chau, staff_binh, slot, providers
):
    visit = book_confirmed(patient_dao, slot, staff=staff_binh)  # messages written, not yet delivered
    message = OutboxMessage.objects.get(kind="appointment.confirmed", recipient=patient_dao, object_id=str(visit.pk))
    providers.failures = 1
    with pytest.raises(sms.SMSError, match="500"):
        deliver_outbox_message(message.pk)
    message.refresh_from_db()
    assert message.status == "pending" and message.next_attempt_at is not None
    assert message.next_attempt_at - frozen().replace(tzinfo=message.next_attempt_at.tzinfo) == timedelta(minutes=1)
    assert SMSMessage.objects.get().status == "failed"  # that attempt, with the reason
    frozen.tick(timedelta(minutes=1))
    assert deliver_outbox_message(message.pk) == "sent"
    sent = SMSMessage.objects.exclude(status="failed").get()
    assert sent.outbox_id == message.pk and sent.provider_message_id and sent.recipient == patient_dao
    assert len([r for r in providers.requests if "form" in r]) == 1  # the failed try had no answer


def test_a_reminder_due_at_night_is_texted_when_the_quiet_hours_end(
    frozen, patient_dao, dr_chau, staff_binh, slot, sms_outbox, settings, django_capture_on_commit_callbacks
):
    settings.SMS_QUIET_HOURS = "21:00-07:00"
    patient_dao.time_zone = "America/Los_Angeles"  # the 24 h reminder falls at 1 a.m. there
    patient_dao.save(update_fields=["time_zone"])
    with django_capture_on_commit_callbacks(execute=True):
        book_confirmed(patient_dao, slot, staff=staff_binh)  # the booking's messages go out now
    frozen.move_to(VISIT - DAY)
    send_due_reminders()
    reminder = OutboxMessage.objects.get(kind="appointment.reminder", recipient=patient_dao)
    sms_outbox.clear()
    assert deliver_outbox_message(reminder.pk) == "deferred"
    reminder.refresh_from_db()
    assert reminder.status == "pending" and reminder.attempts == 0, "a deferral is not a failed attempt"
    seven_am_la = VISIT - DAY + timedelta(hours=6)  # 01:00 → 07:00 in Los Angeles
    assert reminder.next_attempt_at == seven_am_la and "quiet hours" in reminder.last_error
    assert sms_outbox == []
    assert Notification.objects.get(outbox=reminder).email_sent_at is not None, "the email is not held back"

    frozen.move_to(seven_am_la - timedelta(minutes=1))
    retry_pending_outbox()
    reminder.refresh_from_db()
    assert reminder.status == "pending" and sms_outbox == []
    frozen.move_to(seven_am_la)
    assert retry_pending_outbox() >= 1  # the worker runs inline in tests
    reminder.refresh_from_db()
    assert reminder.status == "sent"
    assert [s.to for s in sms_outbox] == [PATIENT_PHONE]


@pytest.mark.parametrize(
    ("window", "local", "ends"),
    [
        ("21:00-07:00", "2025-06-03T23:30", "2025-06-04T07:00"),
        ("21:00-07:00", "2025-06-03T03:00", "2025-06-03T07:00"),
        ("21:00-07:00", "2025-06-03T21:00", "2025-06-04T07:00"),
        ("21:00-07:00", "2025-06-03T07:00", None),
        ("21:00-07:00", "2025-06-03T12:00", None),
        ("12:00-14:00", "2025-06-03T13:00", "2025-06-03T14:00"),
        ("", "2025-06-03T23:30", None),
    ],
)
def test_quiet_hours_in_the_recipients_zone(settings, window, local, ends):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    settings.SMS_QUIET_HOURS = window
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    now = datetime.fromisoformat(local).replace(tzinfo=zone)
    found = quiet_hours_end(now=now, time_zone="Asia/Ho_Chi_Minh")
    assert (found.astimezone(zone).replace(tzinfo=None).isoformat(timespec="minutes") if found else None) == ends


def test_a_malformed_quiet_hours_setting_is_a_clear_error(settings):
    from django.utils import timezone

    settings.SMS_QUIET_HOURS = "late"
    with pytest.raises(ImproperlyConfigured, match="SMS_QUIET_HOURS"):
        quiet_hours_end(now=timezone.now(), time_zone="UTC")
