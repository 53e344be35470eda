"""Time the public reads in-process through the whole middleware stack (django.test.Client, DEBUG off):
free slots of one doctor for 1 day and for 30 days, bookable dates and the doctor search; prints median
and p95 ms, CPU ms and queries per request. Not a pytest module. Needs a database seeded like
../shared/bench-reference/mb_seed.py (200 doctors with a month of slots). usage, from the checkout
with the environment set (DATABASE_URL etc.):

    .venv/bin/python tests/bench/perf_reads.py [ROOT]   # ROOT: another checkout to time (a baseline)
"""

import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from booking.models import Doctor  # noqa: E402


def measure(client: Client, url: str, runs: int) -> dict:
    client.get(url)  # warm-up
    walls, cpus, queries = [], [], []

    def count(execute, sql, *rest):
        queries[-1] += 1
        return execute(sql, *rest)

    with connection.execute_wrapper(count):
        for _ in range(runs):
            queries.append(0)
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            walls.append((time.perf_counter() - started) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    walls.sort()
    return {
        "median_ms": round(statistics.median(walls), 2),
        "p95_ms": round(walls[int(len(walls) * 0.95) - 1], 2),
        "cpu_ms": round(statistics.median(cpus), 2),
        "queries": max(queries),
        "bytes": len(response.content),
    }


def main() -> None:
    client = Client(HTTP_HOST="127.0.0.1")
    doctor = Doctor.objects.filter(user__email__startswith="benchdoc").order_by("pk").first()
    today = timezone.now().astimezone(doctor.zone).date()
    first = today + dt.timedelta(days=1)
    while first.weekday() >= 5:
        first += dt.timedelta(days=1)
    month = f"{first:%Y-%m}"
    cases = {
        "free_slots_1d": (f"/api/v1/doctor/{doctor.pk}/schedules?from={first}&to={first}", 200),
        "free_slots_30d": (f"/api/v1/doctor/{doctor.pk}/schedules?from={first}&to={first + dt.timedelta(days=29)}", 60),
        "available_dates": (f"/api/v1/doctor/{doctor.pk}/available-dates?month={month}", 100),
        "doctor_search": ("/api/v1/doctors?limit=20", 60),
        "doctor_search_q": ("/api/v1/doctors?q=Nguyen&limit=20", 60),
    }
    for name, (url, runs) in cases.items():
        print(connection.vendor, name, json.dumps(measure(client, url, runs)), flush=True)


if __name__ == "__main__":
    main()
