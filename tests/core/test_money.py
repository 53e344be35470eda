"""core.money: money as people read it, rounded once (half up), grouped the active language's way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from core.money import money_text


@pytest.mark.parametrize(
    ("amount", "currency", "english", "vietnamese"),
    [
        (Decimal("316666.66"), "VND", "316,667 ₫", "316.667 ₫"),  # rounded, not cut off
        (Decimal("316666.49"), "VND", "316,666 ₫", "316.666 ₫"),
        (Decimal("0.5"), "VND", "1 ₫", "1 ₫"),
        (350000, "VND", "350,000 ₫", "350.000 ₫"),
        (Decimal("1234.565"), "EUR", "1,234.57 EUR", "1.234,57 EUR"),
        (12.5, "USD", "12.50 USD", "12,50 USD"),
    ],
)
def test_money_is_rounded_half_up_and_grouped_per_language(amount, currency, english, vietnamese):
    with translation.override("en"):
        assert money_text(amount, currency) == english
    with translation.override("vi"):
        assert money_text(amount, currency) == vietnamese


def test_no_amount_reads_as_a_dash():
    assert money_text(None) == "—"
