"""Booking writes. Import services from here; each area lives in its own module."""

from booking.services.scheduling import (
    MAX_WEEKLY_DAYS,
    AvailabilityLocked,
    AvailabilityPreview,
    BlockedTimeResult,
    ScheduleConflict,
    SchedulingError,
    SkippedDate,
    WeeklyResult,
    availability_create,
    availability_delete,
    availability_generate_weekly,
    availability_preview,
    availability_update,
    blocked_time_create,
    blocked_time_delete,
)

__all__ = [
    "MAX_WEEKLY_DAYS",
    "AvailabilityLocked",
    "AvailabilityPreview",
    "BlockedTimeResult",
    "ScheduleConflict",
    "SchedulingError",
    "SkippedDate",
    "WeeklyResult",
    "availability_create",
    "availability_delete",
    "availability_generate_weekly",
    "availability_preview",
    "availability_update",
    "blocked_time_create",
    "blocked_time_delete",
]
