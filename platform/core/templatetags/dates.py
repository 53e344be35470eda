"""``{% load dates %}``: the one date style (core.dates) in templates.

``{{ appointment.starts_at|when }}`` → "Mon 7 Dec 2026, 10:00" / "Thứ Hai, 7 thg 12, 2026, 10:00";
``|day``, ``|short_day``, ``|short_when``, ``|day_month``, ``|clock``, ``|month``; ``{{ zone_name|zone_label }}`` → "Vietnam time (GMT+7)";
``{{ amount|money:currency }}`` → "250.000 ₫" (core.money).
"""

from django import template

from core import dates
from core.money import money_text

register = template.Library()


@register.filter
def when(value):
    return dates.when_text(value)


@register.filter
def day(value):
    return dates.day_text(value)


@register.filter
def short_day(value):
    return dates.short_day_text(value)


@register.filter
def short_when(value):
    return dates.short_when_text(value)


@register.filter
def day_month(value):
    return dates.day_month_text(value)


@register.filter
def clock(value):
    return dates.clock_text(value)


@register.filter
def month(value):
    return dates.month_text(value) if value else ""


@register.filter
def zone_label(value):
    return dates.zone_label(value or None)


@register.filter
def money(value, currency="VND"):
    return money_text(value, currency or "VND")
