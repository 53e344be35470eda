"""Assembles /api/v1/: the core API object plus each domain's routers."""

from booking.api import appointments as appointment_api
from booking.api.scheduling import router as scheduling_router
from booking.api.video import router as video_router
from core.api import api

api.add_router("", scheduling_router)
api.add_router("", appointment_api.router)
api.add_router("", appointment_api.webhooks)
api.add_router("", video_router)

__all__ = ["api"]
