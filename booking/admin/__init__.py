"""Booking in the admin. Each area registers its ModelAdmins in its own module, imported here; every
model's admin is registered once, here in booking, with its exports and printouts."""

from booking.admin import appointments, availability_rules, facilities, payments, scheduling, series  # noqa: F401
