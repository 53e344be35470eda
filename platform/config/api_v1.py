"""Assembles /api/v1/: the core API object plus each domain's routers (booking's, the accounts',
the clinic back office's, which need workflows.clinic and so live there, and the notifications')."""

from accounts.api import router as account_router
from booking.api import appointments as appointment_api
from booking.api import catalog as catalog_api
from booking.api import payments as payment_api
from booking.api.scheduling import router as scheduling_router
from booking.api.video import router as video_router
from core.api import api
from workflows.api import router as notification_router
from workflows.clinic.api import router as clinic_router
from workflows.operations.api import router as operations_router

api.add_router("", scheduling_router)
api.add_router("", appointment_api.router)
api.add_router("", catalog_api.router)
api.add_router("", payment_api.router)
api.add_router("", payment_api.webhooks)
api.add_router("", video_router)
api.add_router("", account_router)
api.add_router("", clinic_router)
api.add_router("", notification_router)
api.add_router("", operations_router)

__all__ = ["api"]
