"""Time the public directory page, the doctor search API and the patient portal's pages in process,
through the whole middleware stack (django.test.Client, DEBUG off), as ``make bench`` loads them:
per page the median wall ms, the CPU-ms of this process (Python) and, on PostgreSQL, of its backend
(from ``/proc``), and the queries per request. ``--profile NAME`` prints a cProfile (CPU time) of
that case; ``--html DIR`` writes each page's HTML there (to compare two checkouts' output). Not a
pytest module. Needs a database seeded like ``make bench`` does (``seed_demo``, then ``mb_seed.py``).
usage, from the checkout with the benchmark's environment (DEBUG off, DATABASE_URL, keys):

    .venv/bin/python tests/bench/perf_pages.py [--runs 30] [--only directory] [--profile NAME] [--html DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from booking.models import Appointment, Doctor  # noqa: E402


def backend_cpu() -> float:
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(client: Client, url: str, runs: int, profiler: cProfile.Profile | None, html: Path | None, name: str):
    response = client.get(url)  # warm-up
    assert response.status_code == 200, (url, response.status_code)
    client.get(url)
    walls, cpus, queries = [], [], []

    def count(execute, sql, *rest):
        queries[-1] += 1
        return execute(sql, *rest)

    db0 = backend_cpu()
    with connection.execute_wrapper(count):
        for _ in range(runs):
            queries.append(0)
            if profiler:
                profiler.enable()
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            cpus.append((time.process_time() - cpu) * 1000)
            walls.append((time.perf_counter() - started) * 1000)
            if profiler:
                profiler.disable()
            assert response.status_code == 200, (url, response.status_code)
    db_ms = (backend_cpu() - db0) * 1000 / runs  # includes the two pg_backend_pid reads: negligible
    if html is not None:
        html.mkdir(parents=True, exist_ok=True)
        (html / f"{name}.html").write_bytes(response.content)
    return {
        "median_ms": round(statistics.median(walls), 2),
        "cpu_ms": round(statistics.median(cpus), 2),
        "db_cpu_ms": round(db_ms, 2),
        "queries": max(queries),
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--only", default="")
    parser.add_argument("--profile", default="")
    parser.add_argument("--html", default="")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    anonymous = Client(HTTP_HOST="127.0.0.1")
    vietnamese = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="vi")
    patient = Client()
    patient_user = User.objects.get(email="patient1@example.com")
    patient.force_login(patient_user)
    doctor = Doctor.objects.filter(is_active=True).order_by("pk").first()
    directory = anonymous.get("/find-a-doctor/").get("Location") or "/doctors/"
    cases = {
        "directory": (anonymous, directory),
        "directory_vi": (vietnamese, directory),
        "directory_q": (anonymous, f"{directory}?q=Nguyen"),
        "directory_p2": (anonymous, f"{directory}?page=2"),
        "api_doctors": (anonymous, "/api/v1/doctors"),
        "api_doctors_q": (anonymous, "/api/v1/doctors?q=Nguyen"),
        "api_doctors_o100": (anonymous, "/api/v1/doctors?offset=100"),
        "portal_home": (patient, "/portal/"),
        "portal_directory": (patient, directory),
        "portal_book": (patient, f"/portal/book/{doctor.pk}/"),
        "portal_appointments": (patient, "/portal/appointments/"),
        "portal_follow_ups": (patient, "/portal/follow-ups/"),
        "portal_profile": (patient, "/portal/profile/"),
        "portal_notifications": (patient, "/portal/notifications/"),
    }
    appointment = Appointment.objects.filter(patient=patient_user).order_by("pk").first()
    if appointment is not None:
        cases["portal_appointment"] = (patient, f"/portal/appointments/{appointment.public_id}/")
    html = Path(args.html) if args.html else None
    for name, (client, url) in cases.items():
        if args.only and not name.startswith(tuple(args.only.split(","))):
            continue
        profiler = cProfile.Profile(time.process_time) if name == args.profile else None
        result = measure(client, url, args.runs, profiler, html, name)
        print(connection.vendor, f"{name:<22}", url, json.dumps(result), flush=True)
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(35)


if __name__ == "__main__":
    main()
