"""Booking in the admin. Each area registers its ModelAdmins in its own module, imported here; every
model's admin is registered once, here in booking, with its exports and printouts."""

from booking.admin import (  # noqa: F401
    appointments,
    availability_rules,
    facilities,
    invoices,
    payments,
    scheduling,
    series,
)
