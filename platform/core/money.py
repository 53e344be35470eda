"""Money as people read it: digits grouped the active language's way, no cents for đồng.

"350.000 ₫" in Vietnamese, "350,000 ₫" in English; other currencies keep their code and two decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats, numberformat

SYMBOLS = {"VND": "₫"}
#: currencies without minor units in everyday use
WHOLE = {"VND"}


def money_text(amount: Decimal | int | float | None, currency: str = "VND") -> str:
    if amount is None:
        return "—"
    places = 0 if currency in WHOLE else 2
    # Django's Vietnamese formats name "." as the thousand separator but set no grouping: group by 3
    # rounded half up first: numberformat cuts the extra digits off (316,666.66 would read "316,666")
    rounded = Decimal(str(amount)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    number = numberformat.format(
        rounded,
        formats.get_format("DECIMAL_SEPARATOR"),
        places,
        grouping=formats.get_format("NUMBER_GROUPING") or 3,
        thousand_sep=formats.get_format("THOUSAND_SEPARATOR"),
        force_grouping=True,
    )
    return f"{number} {SYMBOLS.get(currency, currency)}"
