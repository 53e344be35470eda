"""SMS backends are chosen by settings.SMS_BACKEND; a wrong path fails loudly."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured

from workflows import sms


def test_locmem_backend_keeps_what_it_sends(sms_outbox):
    sms.send_sms("+84 90 000 0001", "Xin chào")
    assert sms_outbox == [sms.SentSMS(to="+84 90 000 0001", text="Xin chào")]


def test_console_backend_logs_the_message(settings, caplog, sms_outbox):
    settings.SMS_BACKEND = "workflows.sms.ConsoleSMSBackend"
    with caplog.at_level(logging.INFO, logger="workflows.sms"):
        sms.send_sms("+84 90 000 0001", "Your appointment is confirmed.")
    assert "SMS to +84 90 000 0001: Your appointment is confirmed." in caplog.text
    assert sms_outbox == []


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("workflows.sms.NoSuchBackend", "cannot be imported"),
        ("nowhere.at.all.Backend", "cannot be imported"),
        ("workflows.sms.send_sms", "not a subclass"),
        ("django.core.mail.backends.locmem.EmailBackend", "not a subclass"),
    ],
)
def test_a_wrong_backend_path_is_a_clear_configuration_error(settings, path, says):
    settings.SMS_BACKEND = path
    with pytest.raises(ImproperlyConfigured, match=says) as error:
        sms.send_sms("+84 90 000 0001", "hi")
    assert "SMS_BACKEND" in str(error.value) and path in str(error.value)


def test_the_base_backend_must_be_subclassed():
    with pytest.raises(NotImplementedError):
        sms.BaseSMSBackend().send("+84 90 000 0001", "hi")
