"""Pluggable SMS backends, chosen by ``settings.SMS_BACKEND`` (a dotted path), like Django's email backends.

A provider backend subclasses ``BaseSMSBackend`` and implements ``send``; raising means "not sent"
(the outbox delivery records the error and retries).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class BaseSMSBackend:
    def send(self, to: str, text: str) -> None:
        """Send ``text`` to the phone number ``to``; raise if it could not be sent."""
        raise NotImplementedError("SMS backends must implement send(to, text).")


class ConsoleSMSBackend(BaseSMSBackend):
    """Development default: writes the message to the log instead of sending it."""

    def send(self, to: str, text: str) -> None:
        logger.info("SMS to %s: %s", to, text)


@dataclass(frozen=True)
class SentSMS:
    to: str
    text: str


#: what ``LocmemSMSBackend`` "sent", oldest first (tests clear it, like ``django.core.mail.outbox``)
outbox: list[SentSMS] = []


class LocmemSMSBackend(BaseSMSBackend):
    """For tests: keeps every message in ``workflows.sms.outbox``."""

    def send(self, to: str, text: str) -> None:
        outbox.append(SentSMS(to=to, text=text))


def get_sms_backend(path: str | None = None) -> BaseSMSBackend:
    """An instance of the backend named by ``path`` (default ``settings.SMS_BACKEND``)."""
    path = path or settings.SMS_BACKEND
    try:
        backend_class = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"SMS_BACKEND is {path!r}, which cannot be imported ({exc}). "
            "Use a dotted path to a class, e.g. 'workflows.sms.ConsoleSMSBackend'."
        ) from exc
    if not (isinstance(backend_class, type) and issubclass(backend_class, BaseSMSBackend)):
        raise ImproperlyConfigured(f"SMS_BACKEND {path!r} is not a subclass of workflows.sms.BaseSMSBackend.")
    return backend_class()


def send_sms(to: str, text: str) -> None:
    get_sms_backend().send(to, text)
