"""Demo data for a laptop, the tests and the benchmarks. Idempotent: a second run changes nothing.

This is the only place demo logins are created. It lives in ``cms`` because it fills every layer
(accounts, booking, the public site) and ``cms`` is allowed to import all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Role, User
from accounts.services import user_create

DEMO_PASSWORD = "medbook-demo-2026"  # noqa: S105 - documented demo credential, local data only


@dataclass(frozen=True)
class DemoUser:
    email: str
    role: str
    first_name: str
    last_name: str


DEMO_USERS = [
    DemoUser("admin@example.com", Role.ADMIN, "An", "Nguyễn"),
    DemoUser("staff@example.com", Role.STAFF, "Bình", "Trần"),
    DemoUser("editor@example.com", Role.EDITOR, "Chi", "Lê"),
    DemoUser("doctor1@example.com", Role.DOCTOR, "Dũng", "Phạm"),
    DemoUser("doctor2@example.com", Role.DOCTOR, "Hạnh", "Võ"),
    DemoUser("doctor3@example.com", Role.DOCTOR, "Khoa", "Đặng"),
    DemoUser("patient1@example.com", Role.PATIENT, "Lan", "Hoàng"),
    DemoUser("patient2@example.com", Role.PATIENT, "Minh", "Bùi"),
]


def seed_demo() -> dict[str, int]:
    """Create whatever demo data is missing; returns how many objects of each kind were created."""
    created = {"users": 0}
    with transaction.atomic():
        existing = set(User.objects.filter(email__in=[u.email for u in DEMO_USERS]).values_list("email", flat=True))
        for demo in DEMO_USERS:
            if demo.email in existing:
                continue
            user_create(
                email=demo.email,
                role=demo.role,
                password=DEMO_PASSWORD,
                first_name=demo.first_name,
                last_name=demo.last_name,
                email_verified=True,
            )
            created["users"] += 1
    return created


class Command(BaseCommand):
    help = "Create Medbook's demo accounts and content (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the demo accounts.")

    def handle(self, *args, quiet=False, **options):
        created = seed_demo()
        summary = ", ".join(f"{count} {kind}" for kind, count in created.items())
        self.stdout.write(f"demo data: created {summary}")
        if not quiet:
            self.stdout.write("")
            self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD})")
            for demo in DEMO_USERS:
                self.stdout.write(f"  {demo.role:<8} {demo.email}")
            self.stdout.write("")
            self.stdout.write("  site   http://127.0.0.1:8000/        portal http://127.0.0.1:8000/portal/")
            self.stdout.write("  admin  http://127.0.0.1:8000/admin/  cms    http://127.0.0.1:8000/cms/")
