"""Pluggable SMS backends, chosen by ``settings.SMS_BACKEND`` (a dotted path), like Django's email backends.

A provider backend subclasses ``BaseSMSBackend`` and implements ``send``; raising means "not sent"
(the outbox delivery records the error and retries with a backoff). ``SMSRejected`` means the
provider refused this message for good (a wrong number): it is recorded, not retried.

Backends:

- ``ConsoleSMSBackend`` (development default) logs; ``LocmemSMSBackend`` keeps messages for tests;
- ``TwilioSMSBackend``: Twilio's REST API (``TWILIO_*`` settings), status callbacks signed with
  ``X-Twilio-Signature``;
- ``HttpJsonSMSBackend``: a generic gateway that takes a JSON POST (``SMS_HTTP_*`` settings), status
  callbacks signed with a hex HMAC-SHA256 of the body.

Also here: ``sms_segments`` (how many SMS parts a text costs, GSM-7 or UCS-2), ``normalize_phone``
(E.164) and the callback signatures (``twilio_signature``, ``http_json_signature``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SMSError(Exception):
    """The provider could not take the message now (network, 5xx, rate limit): retry later."""


class SMSRejected(SMSError):
    """The provider refused this message for good (invalid number, blocked recipient): do not retry."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SMSReceipt:
    """What a provider answered: its id for the message and the status it gave it."""

    provider: str
    message_id: str
    status: str = "queued"


class BaseSMSBackend:
    #: a short name recorded on each message ("twilio", "http")
    provider = "base"
    #: whether ``send`` takes ``status_callback`` (a URL the provider posts delivery reports to)
    reports_status = False

    def send(self, to: str, text: str) -> SMSReceipt | None:
        """Send ``text`` to the phone number ``to``; raise if it could not be sent."""
        raise NotImplementedError("SMS backends must implement send(to, text).")


class ConsoleSMSBackend(BaseSMSBackend):
    """Development default: writes the message to the log instead of sending it."""

    provider = "console"

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

    provider = "locmem"

    def send(self, to: str, text: str) -> None:
        outbox.append(SentSMS(to=to, text=text))


def _not_configured(backend: str, names: list[str]) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"SMS_BACKEND is {backend}, but {', '.join(names)} {'is' if len(names) == 1 else 'are'} not set. "
        "Set them in the environment (see README, 'Text messages (SMS)'), or use "
        "SMS_BACKEND=workflows.sms.ConsoleSMSBackend."
    )


def _answer_error(response: requests.Response) -> tuple[str, str]:
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200]
    if not isinstance(data, dict):
        return "", str(data)[:200]
    return str(data.get("code", "") or ""), str(data.get("message", "") or data.get("error", "") or "")[:200]


def _raise_for(provider: str, response: requests.Response) -> None:
    """5xx and 429 are worth retrying; any other 4xx is a refusal of this message."""
    if response.status_code < 400:
        return
    code, text = _answer_error(response)
    summary = f"{provider} answered {response.status_code}" + (f" (code {code})" if code else "") + f": {text}"
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise SMSError(summary)
    raise SMSRejected(summary, code=code)


class TwilioSMSBackend(BaseSMSBackend):
    """Twilio Programmable Messaging: ``POST {TWILIO_API_BASE}/2010-04-01/Accounts/{sid}/Messages.json``,
    form-encoded, HTTP basic auth (account SID, auth token). From ``TWILIO_FROM_NUMBER`` or, when
    set, the ``TWILIO_MESSAGING_SERVICE_SID``."""

    provider = "twilio"
    reports_status = True

    def __init__(self) -> None:
        missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not getattr(settings, name, "")]
        if not settings.TWILIO_FROM_NUMBER and not settings.TWILIO_MESSAGING_SERVICE_SID:
            missing.append("TWILIO_FROM_NUMBER (or TWILIO_MESSAGING_SERVICE_SID)")
        if missing:
            raise _not_configured("workflows.sms.TwilioSMSBackend", missing)
        self.sid = settings.TWILIO_ACCOUNT_SID
        self.token = settings.TWILIO_AUTH_TOKEN

    def send(self, to: str, text: str, status_callback: str = "") -> SMSReceipt:
        form = {"To": normalize_phone(to), "Body": text}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            form["MessagingServiceSid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            form["From"] = settings.TWILIO_FROM_NUMBER
        if status_callback:
            form["StatusCallback"] = status_callback
        url = f"{settings.TWILIO_API_BASE}/2010-04-01/Accounts/{self.sid}/Messages.json"
        try:
            response = requests.post(url, data=form, auth=(self.sid, self.token), timeout=settings.SMS_TIMEOUT)
        except requests.RequestException as exc:
            raise SMSError(f"Twilio could not be reached: {type(exc).__name__}") from exc
        _raise_for("Twilio", response)
        try:
            data = response.json()
            return SMSReceipt(provider=self.provider, message_id=str(data["sid"]), status=str(data.get("status", "")))
        except (ValueError, KeyError, TypeError) as exc:
            raise SMSError("Twilio's answer has no message sid") from exc


def dig(data, path: str):
    """``data["a"]["b"]`` for ``path`` "a.b"; None when a step is missing."""
    for step in path.split("."):
        if not isinstance(data, dict) or step not in data:
            return None
        data = data[step]
    return data


class HttpJsonSMSBackend(BaseSMSBackend):
    """A generic gateway: ``POST SMS_HTTP_URL`` with a JSON object whose field names come from
    ``SMS_HTTP_FIELDS`` (``{"to": …, "text": …, "from": …, "callback_url": …}`` by default) and the
    header ``SMS_HTTP_AUTH_HEADER: SMS_HTTP_AUTH_VALUE``. The answer's ``SMS_HTTP_FIELDS["id"]`` is the
    gateway's message id."""

    provider = "http"
    reports_status = True

    def __init__(self) -> None:
        missing = [name for name in ("SMS_HTTP_URL", "SMS_HTTP_AUTH_VALUE") if not getattr(settings, name, "")]
        if missing:
            raise _not_configured("workflows.sms.HttpJsonSMSBackend", missing)

    def send(self, to: str, text: str, status_callback: str = "") -> SMSReceipt:
        fields = settings.SMS_HTTP_FIELDS
        body = {fields["to"]: normalize_phone(to), fields["text"]: text}
        if settings.SMS_HTTP_FROM and fields.get("from"):
            body[fields["from"]] = settings.SMS_HTTP_FROM
        if status_callback and fields.get("callback"):
            body[fields["callback"]] = status_callback
        headers = {settings.SMS_HTTP_AUTH_HEADER: settings.SMS_HTTP_AUTH_VALUE, "Accept": "application/json"}
        try:
            response = requests.post(settings.SMS_HTTP_URL, json=body, headers=headers, timeout=settings.SMS_TIMEOUT)
        except requests.RequestException as exc:
            raise SMSError(f"The SMS gateway could not be reached: {type(exc).__name__}") from exc
        _raise_for("The SMS gateway", response)
        try:
            data = response.json()
        except ValueError:
            data = {}
        message_id = dig(data, fields["id"])
        status = dig(data, fields["status"])
        return SMSReceipt(provider=self.provider, message_id=str(message_id or ""), status=str(status or "queued"))


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


def send_sms(to: str, text: str, *, status_callback: str = "") -> SMSReceipt | None:
    backend = get_sms_backend()
    if backend.reports_status and status_callback:
        return backend.send(to, text, status_callback=status_callback)
    return backend.send(to, text)


# --- phone numbers --------------------------------------------------------------------------------

_PUNCTUATION = re.compile(r"[\s\-().\u00a0/]")


def normalize_phone(raw: str) -> str:
    """E.164 as far as the text allows: "+84 90-000 0001" → "+84900000001"; "0900 000 001" (a local
    number) → "+84900000001" with ``SMS_DEFAULT_COUNTRY_CODE`` 84; "0084…" → "+84…". Opt-outs are
    looked up by this form, so a STOP from "+84900000001" covers the profile's "0900 000 001"."""
    text = _PUNCTUATION.sub("", raw or "")
    if text.startswith("00"):
        return "+" + text[2:]
    if text.startswith("+"):
        return text
    code = settings.SMS_DEFAULT_COUNTRY_CODE
    if text.startswith("0") and code:
        return f"+{code}{text[1:]}"
    return text


# --- segments -------------------------------------------------------------------------------------

# GSM 03.38: the default alphabet (one septet each) and the extension table (escape + one septet)
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7, UCS2 = "GSM-7", "UCS-2"
#: units per message: alone, and per part of a concatenated message (the rest is the UDH header)
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class Segments:
    encoding: str
    #: septets (GSM-7; extension characters count 2) or UTF-16 code units (UCS-2; a character
    #: outside the Basic Multilingual Plane, e.g. an emoji, counts 2)
    units: int
    parts: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.parts)


def _units(char: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def sms_segments(text: str) -> Segments:
    """How ``text`` travels as SMS: GSM-7 when every character is in the GSM alphabet, else UCS-2
    (Vietnamese with its diacritics: "Lịch hẹn" is UCS-2). One message holds 160 septets / 70 units;
    a longer text is split into parts of 153 / 67, never between the two septets of an extension
    character nor between the two halves of a surrogate pair."""
    encoding = GSM7 if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text) else UCS2
    single, per_part = LIMITS[encoding]
    units = sum(_units(char, encoding) for char in text)
    if not text:
        return Segments(encoding=encoding, units=0, parts=[])
    if units <= single:
        return Segments(encoding=encoding, units=units, parts=[text])
    parts, current, used = [], [], 0
    for char in text:
        size = _units(char, encoding)
        if used + size > per_part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    parts.append("".join(current))
    return Segments(encoding=encoding, units=units, parts=parts)


# --- callback signatures --------------------------------------------------------------------------


def twilio_signature(url: str, params: dict[str, str], token: str) -> str:
    """Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the auth token, of the full URL
    followed by each POST parameter's name and value, sorted by name."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def http_json_signature(body: bytes, secret: str) -> str:
    """The generic gateway's signature header: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
