from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _


class DirectoryFilterForm(forms.Form):
    """The doctor directory's search box and filters (GET). Bad values fall back to "no filter"."""

    q = forms.CharField(label=_("Name or specialty"), required=False, max_length=100)
    specialty = forms.ChoiceField(label=_("Specialty"), required=False)
    week = forms.BooleanField(label=_("Available this week"), required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000, widget=forms.HiddenInput)

    def __init__(self, *args, specialties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["specialty"].choices = [("", _("All specialties")), *[(s.slug, s.name) for s in specialties]]

    def filters(self) -> dict:
        """Keyword arguments for ``cms.selectors.doctor_directory``; invalid fields are ignored."""
        data = {}
        if self.is_bound:
            self.is_valid()
            data = self.cleaned_data  # holds the fields that validated
        return {
            "q": (data.get("q") or "").strip(),
            "specialty": data.get("specialty") or None,
            "available_this_week": bool(data.get("week")),
            "page": data.get("page") or 1,
        }

    def query_string(self, *, exclude=()) -> str:
        """The current filters as a query string (for pagination links), without ``exclude``."""
        filters = self.filters()
        params = {
            "q": filters["q"],
            "specialty": filters["specialty"] or "",
            "week": "on" if filters["available_this_week"] else "",
            "page": filters["page"] if filters["page"] != 1 else "",
        }
        return urlencode({key: value for key, value in params.items() if value and key not in exclude})
