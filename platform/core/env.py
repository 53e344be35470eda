"""Environment parsing that fails loudly (healthchecks' envbool/envint style).

Every setting Medbook reads from the environment goes through one of these helpers, so a typo in
production (``DEBUG=flase``, ``EMAIL_URL=smpt://…``) stops the process at start-up with a message
naming the variable instead of silently falling back to a default.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def envint(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum {maximum}")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def envtimezone(name: str, default: str) -> str:
    value = os.environ.get(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}={value!r} is not an IANA time zone name (e.g. Asia/Ho_Chi_Minh)") from None
    return value


def envurl(name: str, *, schemes: set[str]) -> str | None:
    """Return the URL in ``name`` after checking its scheme, or None when unset."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    scheme = urlsplit(raw).scheme
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperlyConfigured(f"{name} has scheme {scheme!r}; expected one of: {allowed}")
    return raw


EMAIL_SCHEMES = {"smtp", "smtp+tls", "smtp+ssl", "smtps", "console", "file", "locmem", "dummy"}


def parse_email_url(url: str | None) -> dict[str, object]:
    """Translate ``EMAIL_URL`` into Django EMAIL_* settings.

    ``smtp://user:pass@host:587?from=clinic@example.com`` (STARTTLS with ``smtp+tls``, implicit TLS
    with ``smtps``/``smtp+ssl``), ``console://``, ``file:///path/to/dir``, ``locmem://``.
    Unset means the console backend.
    """
    if not url:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    scheme = parts.scheme
    settings: dict[str, object] = {}
    if scheme == "console":
        settings["EMAIL_BACKEND"] = "django.core.mail.backends.console.EmailBackend"
    elif scheme == "locmem":
        settings["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    elif scheme == "dummy":
        settings["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    elif scheme == "file":
        if not parts.path:
            raise ImproperlyConfigured("EMAIL_URL=file:// needs a directory, e.g. file:///var/mail/medbook")
        settings["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"
        settings["EMAIL_FILE_PATH"] = unquote(parts.path)
    else:
        if not parts.hostname:
            raise ImproperlyConfigured("EMAIL_URL needs a host, e.g. smtp://user:pass@mail.example.com:587")
        settings["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
        settings["EMAIL_HOST"] = parts.hostname
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured("EMAIL_URL has an invalid port") from None
        settings["EMAIL_HOST_USER"] = unquote(parts.username or "")
        settings["EMAIL_HOST_PASSWORD"] = unquote(parts.password or "")
        settings["EMAIL_USE_TLS"] = scheme == "smtp+tls"
        settings["EMAIL_USE_SSL"] = scheme in {"smtps", "smtp+ssl"}
        settings["EMAIL_PORT"] = port or (
            465 if settings["EMAIL_USE_SSL"] else 587 if settings["EMAIL_USE_TLS"] else 25
        )
        settings["EMAIL_TIMEOUT"] = int(query.get("timeout", "10"))
    if "from" in query:
        settings["DEFAULT_FROM_EMAIL"] = query["from"]
    return settings
