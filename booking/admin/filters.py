"""Admin list filters that understand the clinic's clock."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import EMPTY_VALUES
from django.utils import timezone
from unfold.contrib.filters.admin import RangeDateTimeFilter
from unfold.utils import parse_datetime_str


class LocalRangeDateTimeFilter(RangeDateTimeFilter):
    """Unfold's date-time range, read in the viewer's active time zone (Unfold passes naive values,
    which Django would otherwise interpret in the default zone, with a warning)."""

    def _bound(self, side: str):
        day = self.used_parameters.get(f"{self.parameter_name}_{side}_0")
        clock = self.used_parameters.get(f"{self.parameter_name}_{side}_1")
        if day in EMPTY_VALUES or clock in EMPTY_VALUES:
            return None
        value = parse_datetime_str(f"{day} {clock}")
        if value is None:
            raise ValidationError("invalid date or time")
        return timezone.make_aware(value) if timezone.is_naive(value) else value

    def queryset(self, request, queryset):
        try:
            filters = {}
            start, end = self._bound("from"), self._bound("to")
            if start is not None:
                filters[f"{self.parameter_name}__gte"] = start
            if end is not None:
                filters[f"{self.parameter_name}__lte"] = end
            return queryset.filter(**filters)
        except (ValueError, ValidationError):
            return None
