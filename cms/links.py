"""Where the public site links into the patient portal. The portal's addresses are named here only."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.urls import reverse

from booking.models import Doctor, Slot


def booking_url(doctor: Doctor, slot: Slot | None = None, day: dt.date | None = None) -> str:
    """The portal's booking flow for ``doctor``, with ``slot`` chosen when given
    (``/portal/book/<doctor_id>/?slot=<slot_id>``), or opened on ``day`` (``?date=YYYY-MM-DD``). The
    portal checks the slot again when the patient books; this only builds the link."""
    url = f"{reverse('portal:home')}book/{doctor.pk}/"
    if slot is not None:
        url = f"{url}?{urlencode({'slot': slot.pk})}"
    elif day is not None:
        url = f"{url}?{urlencode({'date': day.isoformat()})}"
    return url
