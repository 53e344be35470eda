"""Booking in the admin. Each area registers its ModelAdmins in its own module, imported here."""

from booking.admin import scheduling  # noqa: F401
