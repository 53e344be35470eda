"""A booking's phone number in E.164 (``normalize_phone``): remembered per text since issue 19, so the
refusals must still be said in the language of each request, and every text still judged on its own."""

from __future__ import annotations

import pytest
from django.utils import translation

from booking.services.common import normalize_phone


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("0901 234 567", "+84901234567"), ("+84 901 234 567", "+84901234567"), ("+1 650 253 0000", "+16502530000")],
)
def test_a_number_is_written_in_e164_every_time(raw, e164):
    assert normalize_phone(raw) == e164
    assert normalize_phone(raw) == e164  # remembered: the same answer


@pytest.mark.parametrize(
    ("raw", "english", "vietnamese"),
    [
        ("not a number", "Enter a phone number", "Nhập số điện thoại"),
        ("+84 12", "This phone number does not exist", "Số điện thoại này không tồn tại"),
    ],
)
def test_a_refusal_is_said_in_the_language_of_each_request(raw, english, vietnamese):
    for language, expected in (("en", english), ("vi", vietnamese), ("en", english)):
        with translation.override(language), pytest.raises(ValueError, match=expected):
            normalize_phone(raw)
