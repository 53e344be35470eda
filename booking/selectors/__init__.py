"""Booking reads. Import selectors from here; each area lives in its own module."""

from booking.selectors.scheduling import (
    DoctorPage,
    FreeSlotListing,
    WeekDay,
    WeekSlot,
    WeekView,
    available_dates,
    bookable_doctor_for_slots,
    doctor_for_user,
    doctor_search,
    first_free_slots,
    fold_text,
    free_slot_listing,
    free_slot_rows,
    free_slots,
    slot_free_q,
    week_view,
)

__all__ = [
    "DoctorPage",
    "FreeSlotListing",
    "WeekDay",
    "WeekSlot",
    "WeekView",
    "available_dates",
    "bookable_doctor_for_slots",
    "doctor_for_user",
    "doctor_search",
    "first_free_slots",
    "fold_text",
    "free_slot_listing",
    "free_slot_rows",
    "free_slots",
    "slot_free_q",
    "week_view",
]
