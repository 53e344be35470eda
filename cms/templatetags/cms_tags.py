"""Template tags of the public site: head tags for SEO and social previews, the site menu, the clinic
footer and links into the portal's booking flow."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone, translation
from django.utils.dates import WEEKDAYS
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from wagtail.models import Site

from cms import links, selectors, seo
from cms.cards import CardWriter
from cms.models import ClinicSettings
from core.money import money_text

register = template.Library()


def served_home(request):
    """The home page of the language tree being served (the site's root in the active language)."""
    cached = getattr(request, "_medbook_served_home", None)
    if cached is None:
        site = Site.find_for_request(request)
        cached = site.root_page.localized.specific if site is not None else None
        request._medbook_served_home = cached
    return cached


@register.inclusion_tag("cms/includes/seo_head.html", takes_context=True)
def seo_head(context, page):
    request = context["request"]
    clinic = ClinicSettings.for_request(request)
    title = page.seo_title or page.title
    return {
        "page": page,
        "title": title,
        "description": page.meta_description(),
        "canonical": page.get_full_url(request),
        "og_type": page.og_type,
        "image": seo.social_image_url(request, page, clinic),
        "site_name": clinic.clinic_name,
        "og_locale": seo.og_locale(translation.get_language()),
    }


@register.inclusion_tag("cms/includes/site_nav.html", takes_context=True)
def site_nav(context, current=None):
    request = context["request"]
    home = served_home(request)
    current_path = getattr(current, "path", "")
    items = [
        {"page": item, "current": current_path.startswith(item.path), "exact": current_path == item.path}
        for item in (selectors.menu_pages(home=home) if home is not None else [])
    ]
    return {
        "request": request,
        "home": home,
        "items": items,
        "current_path": current_path,
        "query": context.get("query", ""),
    }


@register.inclusion_tag("cms/includes/clinic_footer.html", takes_context=True)
def clinic_footer(context):
    request = context["request"]
    try:
        clinic = ClinicSettings.for_request(request)
    except ClinicSettings.DoesNotExist:  # no Wagtail site answers this host: the defaults, unsaved
        clinic = ClinicSettings()
    hours = []
    for block in clinic.opening_hours:
        value = block.value
        hours.append(
            {
                "day": WEEKDAYS[int(value["day"])],
                "closed": bool(value.get("closed")),
                "opens": value.get("opens"),
                "closes": value.get("closes"),
            }
        )
    legal = [page.localized for page in (clinic.privacy_page, clinic.terms_page) if page is not None and page.live]
    return {"request": request, "clinic": clinic, "hours": hours, "legal_pages": legal}


@register.simple_tag(takes_context=True)
def doctor_card(context, entry, heading="h2"):
    """A directory card (``cms.cards``); the page's cards share one writer."""
    writer = context.render_context.get(CardWriter)
    if writer is None:
        writer = context.render_context[CardWriter] = CardWriter(context.get("request"))
    return writer.card(entry, heading)


@register.simple_tag
def booking_url(doctor, slot=None, day=None):
    return links.booking_url(doctor, slot, day)


@register.filter
def free_day(value: dt.datetime | dt.date | None, style: str = "") -> str:
    """A day as people say it, in the visitor's zone: "Today", "Tomorrow" or "Tue 8 Dec" (``"short"``:
    the weekday and day only, "Tue 8", where the month is shown nearby; ``"weekday"``: "Tue")."""
    if value is None:
        return ""
    day = timezone.localtime(value).date() if isinstance(value, dt.datetime) else value
    today = timezone.localdate()
    if day == today:
        return _("Today")
    if day == today + dt.timedelta(days=1):
        return _("Tomorrow")
    return date_format(day, {"short": "D j", "weekday": "D"}.get(style, "D j M"))


@register.filter
def free_time(value: dt.datetime | None) -> str:
    """A free time as people say it, in the visitor's zone: "Today 14:30", "Tue 8 Dec 09:00"."""
    if value is None:
        return ""
    return f"{free_day(value)} {date_format(timezone.localtime(value), 'H:i')}"


@register.filter
def money(amount, currency: str = "VND") -> str:
    """Money as people read it in the active language (``core.money``)."""
    return money_text(amount, currency)
