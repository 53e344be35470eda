"""The doctor cards of the public site (directory, facility and specialty pages), written as HTML here
rather than by a template included once per card: a card has a dozen translated phrases, a link per
quick slot and several formatted times, and Django's ``{% include %}`` with ``{% blocktranslate %}``
and filters per slot cost about half of the directory page's time (issue 19). The markup is the one
the page always had; every value is escaped as the template engine would (``conditional_escape``),
translated phrases come from the same msgids, and a page's repeated work (the portal's address, the
names of days, the wording of a day) is done once per page (``CardWriter``)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import conditional_escape as esc
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext
from wagtail.images.shortcuts import get_rendition_or_not_found

from cms.selectors import CARD_PHOTO, DirectoryEntry


class CardWriter:
    """Writes the cards of one page. ``request`` makes the profile pages' addresses (Wagtail's
    ``pageurl``); the writer remembers what repeats from card to card on that page."""

    def __init__(self, request) -> None:
        self.request = request
        self.today = timezone.localdate()
        self.tomorrow = self.today + dt.timedelta(days=1)
        self.portal = reverse("portal:home")
        self._days: dict[tuple[dt.date, str], str] = {}
        self._phrases: dict[str, str] = {}

    # -- what the cms_tags filters say, remembered per page ------------------------------------------

    def phrase(self, msgid: str) -> str:
        """``{% translate msgid %}``: translated and escaped."""
        found = self._phrases.get(msgid)
        if found is None:
            found = self._phrases[msgid] = esc(gettext(msgid))
        return found

    def free_day(self, day: dt.date, style: str = "") -> str:
        """``cms_tags.free_day`` of a local date (unescaped)."""
        key = (day, style)
        found = self._days.get(key)
        if found is None:
            if day == self.today:
                found = gettext("Today")
            elif day == self.tomorrow:
                found = gettext("Tomorrow")
            else:
                found = date_format(day, {"short": "D j", "weekday": "D"}.get(style, "D j M"))
            self._days[key] = found
        return found

    def free_time(self, local: dt.datetime) -> str:
        """``cms_tags.free_time`` of a local time (unescaped): "Today 14:30", "Tue 8 Dec 09:00"."""
        return f"{self.free_day(local.date())} {local:%H:%M}"

    def booking_url(self, doctor_id: int, slot_id: int | None = None) -> str:
        """``cms.links.booking_url`` (unescaped)."""
        url = f"{self.portal}book/{doctor_id}/"
        return f"{url}?slot={slot_id}" if slot_id is not None else url

    # -- a card -------------------------------------------------------------------------------------

    def card(self, entry: DirectoryEntry, heading: str = "h2") -> SafeString:
        doctor, profile = entry.doctor, entry.profile
        pk = doctor.pk
        name = esc(str(doctor))
        profile_url = esc(profile.get_url(request=self.request)) if profile is not None else ""
        parts = [
            f'<article class="doctor-result" aria-labelledby="doctor-{pk}-name">\n  <div class="doctor-result-who">\n    '
        ]
        photo = entry.photo
        if photo:
            attrs = {"class": "doctor-photo", "alt": "", "loading": "lazy"}
            parts.append(get_rendition_or_not_found(photo, CARD_PHOTO).img_tag(attrs))
        elif doctor.photo:
            parts.append(
                f'<img class="doctor-photo" src="{esc(doctor.photo.url)}" alt="" width="80" height="80" loading="lazy">'
            )
        else:
            parts.append(
                f'<span class="doctor-photo doctor-initials tone-{entry.tone}" aria-hidden="true">'
                f"{esc(entry.initials)}</span>"
            )
        heading = esc(heading)
        parts.append(
            f'\n    <div class="doctor-result-text">\n      <{heading} class="doctor-name" id="doctor-{pk}-name">'
        )
        parts.append(f'<a href="{profile_url}">{name}</a>' if profile is not None else name)
        parts.append(f"</{heading}>\n      ")
        specialties = doctor.specialties.all()
        if specialties:
            labels = " · ".join(esc(specialty.label) for specialty in specialties)
            parts.append(f'<p class="doctor-specialties">{labels}</p>')
        parts.append('\n      <ul class="doctor-facts">\n        ')
        if entry.shows_rating:
            parts.append(f'<li class="doctor-rating">{self.rating(entry.rating)}\n</li>')
        parts.append("\n        ")
        languages = entry.languages
        if languages:
            parts.append(
                f'<li><span class="visually-hidden">{self.phrase("Languages")}: </span>'
                f"{', '.join(esc(language) for language in languages)}</li>"
            )
        parts.append("\n        ")
        fee = entry.fee
        if fee:
            parts.append(f'<li><span class="visually-hidden">{self.phrase("Consultation fee")}: </span>{esc(fee)}</li>')
        parts.append("\n      </ul>\n      ")
        places = entry.places
        if places:
            parts.append('<p class="doctor-places">')
            for place in places:
                if place.is_video:
                    parts.append(f'<span class="place place-video">{self.phrase("Video visit")}</span>')
                    continue
                if place.facility:
                    where = esc(place.facility.name)
                    if place.facility.city:
                        where = f"{where}, {esc(place.facility.city)}"
                else:
                    where = self.phrase("At the clinic")
                parts.append(f'<span class="place place-clinic">{where}</span>')
            parts.append("</p>")
        parts.append('\n    </div>\n  </div>\n  <div class="doctor-result-times">\n    ')
        next_free = entry.next_free
        if next_free:
            local = timezone.localtime(next_free)
            parts.append('\n    <p class="next-free">')
            if entry.available_this_week:
                parts.append(f'<span class="badge badge-ok">{self.phrase("Available this week")}</span> ')
            parts.append(
                f'{self.phrase("Next free time:")} <strong><time datetime="{local.isoformat()}">'
                f"{esc(self.free_time(local))}</time></strong></p>\n    "
            )
            if entry.slots:
                label = gettext("Free times with %(name)s") % {"name": name}
                parts.append(f'<ul class="quick-slots" aria-label="{label}">\n      ')
                book = gettext("Book %(when)s with %(name)s")
                for slot in entry.slots:
                    start = timezone.localtime(slot.start)
                    aria = book % {"when": esc(self.free_time(start)), "name": name}
                    parts.append(
                        f'<li><a class="quick-slot" href="{esc(self.booking_url(pk, slot.pk))}" aria-label="{aria}">'
                        f'<span class="quick-slot-day">{esc(self.free_day(start.date(), "short"))}</span> '
                        f'<time datetime="{start.isoformat()}">{start:%H:%M}</time></a></li>'
                    )
                parts.append("\n    </ul>")
            parts.append("\n    ")
        else:
            parts.append(f'\n    <p class="next-free">{self.phrase("No free time soon.")}</p>\n    ')
        parts.append('\n    <p class="card-actions">\n      ')
        if profile is not None:
            parts.append(
                f'<a class="button button-secondary button-small" href="{profile_url}">{self.phrase("View profile")}'
                f'<span class="visually-hidden">: {name}</span></a>'
            )
        parts.append(
            f'\n      <a class="button button-small" href="{esc(self.booking_url(pk))}">{self.phrase("More times")}'
            f'<span class="visually-hidden">: {name}</span></a>\n    </p>\n  </div>\n</article>\n'
        )
        return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped

    def rating(self, rating) -> str:
        """``cms/includes/rating.html`` for a rating with an average (the cards show no other)."""
        text = ngettext("%(average)s / 5 (%(counter)s rating)", "%(average)s / 5 (%(counter)s ratings)", rating.count)
        text %= {"average": esc(localize(rating.average)), "counter": esc(localize(rating.count))}
        return f'<span class="rating"><span aria-hidden="true">★</span> {text}</span>'
