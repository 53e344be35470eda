"""Time the patient portal's pages on the demo data: ``manage.py bench_portal [--runs 20]``.

Renders each page through Django's test client (no network, no server) as ``patient1@example.com``
and prints the median and worst time and the number of queries per page. Run ``seed_demo`` first.
This is a measurement to read, not a test: it asserts nothing.
"""

from __future__ import annotations

import statistics
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from accounts.models import User
from booking.models import Appointment, Doctor


class Command(BaseCommand):
    help = "Measure portal page render times and query counts on the demo data."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=20)
        parser.add_argument("--email", default="patient1@example.com")

    def handle(self, *args, runs: int, email: str, **options):
        patient = User.objects.filter(email=email).first()
        doctor = Doctor.objects.filter(is_active=True).first()
        if patient is None or doctor is None:
            raise CommandError("No demo data: run `manage.py seed_demo` first.")
        client = Client()
        client.force_login(patient)
        with override_settings(ALLOWED_HOSTS=["testserver", *settings.ALLOWED_HOSTS]):
            # the doctor list is the public site's directory (/find-a-doctor/ redirects there)
            directory = client.get("/find-a-doctor/").get("Location") or "/find-a-doctor/"
        pages = [
            "/portal/",
            directory,
            f"/portal/book/{doctor.pk}/",
            "/portal/appointments/",
            "/portal/follow-ups/",
            "/portal/profile/",
            "/portal/notifications/",
        ]
        appointment = Appointment.objects.filter(patient=patient).first()
        if appointment is not None:
            pages.append(f"/portal/appointments/{appointment.public_id}/")
        self.stdout.write(f"{'page':<60} {'median ms':>10} {'max ms':>8} {'queries':>8}")
        with override_settings(ALLOWED_HOSTS=["testserver", *settings.ALLOWED_HOSTS]):
            for url in pages:
                client.get(url)  # warm caches and templates
                timings = []
                for _ in range(runs):
                    with CaptureQueriesContext(connection) as queries:
                        started = time.perf_counter()
                        response = client.get(url)
                        timings.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise CommandError(f"{url} answered {response.status_code}")
                self.stdout.write(
                    f"{url:<60} {statistics.median(timings):>10.1f} {max(timings):>8.1f} {len(queries):>8}"
                )
