"""Shared plumbing for admin buttons: every button calls a service and reports the outcome."""

from django.contrib import messages
from django.shortcuts import redirect

from core.errors import DomainError


def run_service(request, work, success, *, back: str):
    """Call ``work()``; a domain error becomes an error message, success a success message; then go
    back to ``back`` (the page the button was on)."""
    try:
        work()
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)
    return redirect(back)
