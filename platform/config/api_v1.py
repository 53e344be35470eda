"""Assembles /api/v1/: the core API object plus each domain's routers."""

from core.api import api

__all__ = ["api"]
