"""Booking in the admin. Each area registers its ModelAdmins in its own module, imported here."""

from booking.admin import appointments, scheduling  # noqa: F401
