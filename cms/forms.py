from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from booking.models import AppointmentMode

#: the directory's filters, as they appear in its address (and in the portal's old doctor search)
FILTER_NAMES = ("q", "specialty", "mode", "date", "facility", "city", "district", "week")


@dataclass(frozen=True)
class DistrictOption:
    """One district in the directory's district list: its city (the page hides the districts of other
    cities than the one chosen, and ``site.js`` keeps that true while the visitor changes the city)."""

    value: str
    city: str
    hidden: bool = False


class DirectoryFilterForm(forms.Form):
    """The doctor directory's search box and filters (GET). Bad values fall back to "no filter"."""

    q = forms.CharField(label=_("Name or specialty"), required=False, max_length=100)
    specialty = forms.ChoiceField(label=_("Specialty"), required=False)
    mode = forms.ChoiceField(label=_("Visit"), required=False)
    date = forms.DateField(label=_("Free on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    facility = forms.ChoiceField(label=_("Clinic"), required=False)
    city = forms.ChoiceField(label=_("City"), required=False)
    district = forms.ChoiceField(label=_("District"), required=False)
    week = forms.BooleanField(label=_("Available this week"), required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000, widget=forms.HiddenInput)

    def __init__(self, *args, specialties=(), facilities=(), today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["specialty"].choices = [("", _("All specialties")), *[(s.slug, s.label) for s in specialties]]
        self.fields["mode"].choices = [("", _("In person or video")), *AppointmentMode.choices]
        self.fields["facility"].choices = [("", _("All clinics")), *[(f.slug, f.name) for f in facilities]]
        cities = sorted({f.city for f in facilities if f.city})
        self.fields["city"].choices = [("", _("All cities")), *[(city, city) for city in cities]]
        # the districts of the chosen city (of every city while none is chosen): another city's district
        # is not a choice, so a stale one left from an earlier search falls back to "no filter"
        city = self.data.get("city", "") if self.is_bound else ""
        city = city if city in cities else ""
        places = sorted({(f.city, f.district) for f in facilities if f.district})
        self.district_options = [
            DistrictOption(value=district, city=place_city, hidden=bool(city) and place_city != city)
            for place_city, district in places
        ]
        districts = dict.fromkeys(option.value for option in self.district_options if not option.hidden)
        self.fields["district"].choices = [("", _("All districts")), *[(d, d) for d in districts]]
        if today is not None:
            self.fields["date"].widget.attrs["min"] = today.isoformat()

    def clean_date(self):
        day = self.cleaned_data.get("date")
        if day is not None and self.today is not None and day < self.today:
            return None  # a day gone by: no filter rather than no doctors
        return day

    def filters(self) -> dict:
        """Keyword arguments for ``cms.selectors.doctor_directory``; invalid fields are ignored."""
        data = {}
        if self.is_bound:
            self.is_valid()
            data = self.cleaned_data  # holds the fields that validated
        return {
            "q": (data.get("q") or "").strip(),
            "specialty": data.get("specialty") or None,
            "mode": data.get("mode") or "",
            "date": data.get("date"),
            "facility": data.get("facility") or None,
            "city": data.get("city") or "",
            "district": data.get("district") or "",
            "available_this_week": bool(data.get("week")),
            "page": data.get("page") or 1,
        }

    def active_filter_count(self) -> int:
        """How many of the filters besides the search box are set (for the collapsed filter panel)."""
        filters = self.filters()
        return sum(
            bool(filters[name])
            for name in ("specialty", "mode", "date", "facility", "city", "district", "available_this_week")
        )

    def query_string(self, *, exclude=()) -> str:
        """The current filters as a query string (for pagination links), without ``exclude``."""
        filters = self.filters()
        params = {
            "q": filters["q"],
            "specialty": filters["specialty"] or "",
            "mode": filters["mode"],
            "date": filters["date"].isoformat() if filters["date"] else "",
            "facility": filters["facility"] or "",
            "city": filters["city"],
            "district": filters["district"],
            "week": "on" if filters["available_this_week"] else "",
            "page": filters["page"] if filters["page"] != 1 else "",
        }
        return urlencode({key: value for key, value in params.items() if value and key not in exclude})
