"""Database down → 503 with ``Retry-After``, in the shape the client expects.

A page or API call that cannot reach the database is not a bug in Medbook: the client (and a load
balancer) should come back shortly. ``database_unavailable`` tells such an error from a real one;
``core.views.server_error`` (Django's 500 handler) and the API's handler registered here answer
503 with ``Retry-After`` for it, JSON ``{"error": {...}}`` under ``/api/`` and a plain HTML page
elsewhere, and a normal 500 for everything else.
"""

from __future__ import annotations

import logging
import sqlite3
import time

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

#: PostgreSQL SQLSTATEs that mean "cannot serve now", not "this statement is wrong": connection
#: exceptions (class 08), insufficient resources (class 53), shutdown/starting up (57P01–57P03)
UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "53", "57P01", "57P02", "57P03")
#: SQLite: the file is locked by another writer for longer than the timeout, or cannot be opened
UNAVAILABLE_SQLITE_ERRORS = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL"}
LOG_EVERY_SECONDS = 30.0
_last_logged = [-LOG_EVERY_SECONDS]


def retry_after_seconds() -> int:
    return int(getattr(settings, "DATABASE_UNAVAILABLE_RETRY_AFTER", 30))


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` means the database cannot be reached or cannot serve right now.

    Deadlocks and serialization failures are not outages (they are retried by the services), and
    neither is a missing table or a bad statement.
    """
    if exc is None:
        return False
    if isinstance(exc, InterfaceError):  # the connection was already closed under us
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, sqlite3.Error):
        return getattr(cause, "sqlite_errorname", "") in UNAVAILABLE_SQLITE_ERRORS
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:
        # psycopg reports failures to connect or a connection lost mid-query without a SQLSTATE
        return cause is not None and type(cause).__module__.startswith("psycopg")
    return sqlstate.startswith(UNAVAILABLE_SQLSTATE_PREFIXES)


def _log(request, exc: BaseException) -> None:
    now = time.monotonic()
    if now - _last_logged[0] >= LOG_EVERY_SECONDS:
        _last_logged[0] = now
        logger.error("Database unavailable, answering 503 (%s: %s) for %s", type(exc).__name__, exc, request.path)


def unavailable_response(request, exc: BaseException) -> HttpResponse:
    """The 503 for ``request`` while the database is down."""
    _log(request, exc)
    retry_after = retry_after_seconds()
    message = _("The service is temporarily unavailable. Please try again in a moment.")
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {
                "error": {
                    "code": "service_unavailable",
                    "message": message,
                    "details": {"retry_after": retry_after},
                }
            },
            status=503,
        )
    else:
        response = HttpResponse(
            _page(_("Temporarily unavailable"), message), status=503, content_type="text/html; charset=utf-8"
        )
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


def server_error_response(request) -> HttpResponse:
    """A plain 500 that needs neither the database nor a template context."""
    message = _("Something went wrong on our side. We have been told and will look into it.")
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "server_error", "message": message, "details": {}}}, status=500)
    return HttpResponse(_page(_("Server error"), message), status=500, content_type="text/html; charset=utf-8")


def _page(title: str, message: str) -> str:
    # Built by hand: the normal base template reads site settings from the database.
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Medbook</title></head>"
        '<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1e293b">'
        f"<h1>{escape(title)}</h1><p>{escape(message)}</p></body></html>"
    )


def register_api_handler() -> None:
    """Teach the JSON API to answer 503 for an unavailable database (its catch-all answers 500)."""
    from core.api import api

    def database_error(request, exc: DatabaseError):
        if database_unavailable(exc):
            return unavailable_response(request, exc)
        catch_all = api._exception_handlers.get(Exception)  # the API's own answer to unexpected errors
        if catch_all is None:
            raise exc
        return catch_all(request, exc)

    api.add_exception_handler(DatabaseError, database_error)
