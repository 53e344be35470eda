"""Phone numbers for accounts: the E.164 form a patient's number is stored and looked up in, the form
field that accepts what people type, and the one way account codes leave by SMS.

The SMS itself is sent by the project's SMS backend, which lives in ``workflows`` (a layer above
this one). ``workflows`` registers its sender here when it starts (``register_sms_sender``), so the
accounts layer never imports it; with nothing registered, sending a code fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers
from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _


def default_region() -> str | None:
    """The region a number without a country code belongs to ("0901 234 567" → VN), from
    ``SMS_DEFAULT_COUNTRY_CODE`` (84)."""
    code = str(getattr(settings, "SMS_DEFAULT_COUNTRY_CODE", "") or "")
    if not code.isdigit():
        return None
    region = phonenumbers.region_code_for_country_code(int(code))
    return None if region == phonenumbers.UNKNOWN_REGION else region


def to_e164(raw: str) -> str:
    """``raw`` as E.164 ("+84901234567"); a local number is read in the clinic's region. Raises
    ``ValueError`` when it is not a possible, valid phone number."""
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region())
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def to_e164_or_raw(raw: str) -> str:
    """E.164 when ``raw`` is a valid number, else ``raw`` stripped (a profile keeps what it was given
    rather than losing it; such a number can never be verified or used to sign in)."""
    try:
        return to_e164(raw)
    except ValueError:
        return (raw or "").strip()


class PhoneNumberField(forms.CharField):
    """A mobile number as people write it ("0901 234 567", "+84 90 123 4567"), cleaned to E.164."""

    default_error_messages = {
        "invalid_phone": _("Enter a valid mobile number, e.g. 0901 234 567 or +84 901 234 567."),
    }

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("label", _("Mobile phone"))
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel", "placeholder": "0901 234 567"}
            ),
        )
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        try:
            return to_e164(value)
        except ValueError:
            raise ValidationError(self.error_messages["invalid_phone"], code="invalid_phone") from None


# --- sending ------------------------------------------------------------------------------------

SMSSender = Callable[[str, str], None]
_sender: SMSSender | None = None


def register_sms_sender(sender: SMSSender | None) -> None:
    """Install ``sender(phone, text)``, the function account codes are sent with (``workflows`` does
    this in its ``ready``). ``None`` removes it."""
    global _sender
    _sender = sender


def send_account_sms(*, phone: str, text: str) -> None:
    """Send an account text (a verification or sign-in code) to ``phone`` now. Call it outside any
    transaction (allauth's views run in autocommit): it is a network call. Raises what the sender
    raises: the person asked for the code and sees the error rather than waiting for nothing."""
    if _sender is None:
        raise ImproperlyConfigured(
            "No SMS sender is registered for account codes: add 'workflows.messaging' to INSTALLED_APPS."
        )
    _sender(phone, text)
