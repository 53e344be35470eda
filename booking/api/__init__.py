"""Booking's JSON API routers, mounted under /api/v1 by ``config.api_v1``."""
