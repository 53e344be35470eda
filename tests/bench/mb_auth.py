"""Credentials and admin data for the benchmark's Medbook load; run by the harness from the repository
with Medbook's virtualenv and the benchmark's environment.

- ``tokens META FIRST COUNT OUT``: JWT access tokens (allauth headless, the strategy the API
  authenticates with) for ``COUNT`` of the seeded patients from index ``FIRST``, written to ``OUT``.
  Each gets its own session, made the way ``Client.force_login`` makes one (no password hashing).
  Minted right before each booking run: access tokens live at most 5 minutes.
- ``cookie EMAIL``: a session cookie (``name=value``) for that account, for pages behind a login.
- ``admin ROWS OUT REPEAT``: commits ``ROWS`` appointments with ``bench_admin``'s own generator, times the
  admin pages in process with ``bench_admin``'s own timer (prints its table: median and query
  count), and writes the generated admin's, staff member's and doctor's session cookies and a
  patient surname to ``OUT``.
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from allauth.headless import app_settings as headless_settings  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import login  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import HttpRequest  # noqa: E402

from accounts.models import User  # noqa: E402

BACKEND = "django.contrib.auth.backends.ModelBackend"


def signed_in(user: User) -> HttpRequest:
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    request.user = user
    login(request, user, BACKEND)
    request.session.save()
    return request


def cookie(user: User) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={signed_in(user).session.session_key}"


def tokens(meta_path: str, first: int, count: int, out: str) -> None:
    ids = json.loads(Path(meta_path).read_text())["patient_ids"][first : first + count]
    users = {u.pk: u for u in User.objects.filter(pk__in=ids)}
    strategy = headless_settings.TOKEN_STRATEGY
    minted = [strategy.create_access_token(signed_in(users[pk])) for pk in ids]
    with open(out, "w") as handle:
        json.dump(minted, handle)


def admin(rows: int, out: str, repeat: int) -> None:
    from workflows.clinic.management.commands.bench_admin import Command

    command = Command(stdout=io.StringIO())
    command.rng = random.Random(2026)
    with transaction.atomic():
        people = command._generate(rows=rows, doctors=40, patients=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    command._time_pages(people, repeat=repeat)
    print(command.stdout.getvalue(), end="")
    with open(out, "w") as handle:
        json.dump(
            {
                "admin": cookie(people["admin"]),
                "staff": cookie(people["staff"]),
                "doctor": cookie(people["doctor"]),
                "surname": people["surname"],
                "phone": people["phone"],
            },
            handle,
        )


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "tokens":
        tokens(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif what == "cookie":
        print(cookie(User.objects.get(email=sys.argv[2])))
    elif what == "admin":
        admin(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown: {what}")
