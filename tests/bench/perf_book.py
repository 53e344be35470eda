"""Measure one booking over the API in process: ``POST /api/v1/appointments`` with a patient's bearer
token (JWT, as the load driver books), through the whole middleware stack, on a database seeded by
``mb_seed.py``. Prints the queries per booking (with their SQL for the first one), the in-process
CPU-ms per booking (Python; plus the PostgreSQL backend's CPU on PostgreSQL) and, with ``--profile``,
a cProfile of the bookings. The bookings it made are deleted and their slots freed at the end.
Not a pytest module. usage, from the checkout with the benchmark's environment (DEBUG off,
DATABASE_URL, keys; see README "Benchmarks"):

    .venv/bin/python tests/bench/perf_book.py META.json [N=60] [--profile] [--sql]
"""

import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT), str(HERE)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from allauth.headless import app_settings as headless_settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from mb_auth import signed_in  # noqa: E402  (sets Django up)

from accounts.models import User  # noqa: E402
from booking.models import Appointment, Slot  # noqa: E402


def backend_cpu() -> float:
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(meta_path: str, n: int, profile: bool, show_sql: bool) -> None:
    meta = json.loads(Path(meta_path).read_text())
    taken = set(Appointment.objects.values_list("slot_id", flat=True))
    free = [(d, s) for d, s in meta["free_slots"] if s not in taken][-n:]
    patients = meta["patient_ids"][-((n + 1) // 2) :]
    users = {u.pk: u for u in User.objects.filter(pk__in=patients)}
    strategy = headless_settings.TOKEN_STRATEGY
    tokens = [strategy.create_access_token(signed_in(users[pk])) for pk in patients]
    first_new = (Appointment.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    client = Client(HTTP_HOST="127.0.0.1")
    counts, cpu_ms, db_ms, wall_ms = [], [], [], []
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not waits
    try:
        for i, (doctor_id, slot_id) in enumerate(free):
            queries: list[str] = []

            def count(execute, sql, *rest, queries=queries):
                queries.append(sql)
                return execute(sql, *rest)

            body = {
                "doctorId": doctor_id,
                "scheduleId": slot_id,
                "firstName": "Pat",
                "lastName": "Bench",
                "phone": "+84901234567",
                "email": "pat.bench@mail.test",
            }
            db0 = backend_cpu()
            started, cpu = time.perf_counter(), time.process_time()
            if profiler and i >= 5:  # the first requests import and fill caches
                profiler.enable()
            with connection.execute_wrapper(count):
                response = client.post(
                    "/api/v1/appointments",
                    data=body,
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {tokens[i // 2]}"},
                )
            if profiler:
                profiler.disable()
            cpu_ms.append((time.process_time() - cpu) * 1000)
            wall_ms.append((time.perf_counter() - started) * 1000)
            db_ms.append((backend_cpu() - db0) * 1000)
            assert response.status_code == 201, (response.status_code, response.content[:300])
            counts.append(len(queries))
            if i == 0 and show_sql:
                for sql in queries:
                    print("  SQL", sql[:240])
        skip = min(5, len(cpu_ms) // 4)  # warm-up: first requests fill caches
        print(
            "BOOK",
            connection.vendor,
            json.dumps(
                {
                    "bookings": len(counts),
                    "queries": sorted(set(counts)),
                    "python_cpu_ms_median": round(statistics.median(cpu_ms[skip:]), 2),
                    "python_cpu_ms_mean": round(statistics.mean(cpu_ms[skip:]), 2),
                    "db_cpu_ms_mean": round(statistics.mean(db_ms[skip:]), 2),
                    "wall_ms_median": round(statistics.median(wall_ms[skip:]), 2),
                }
            ),
            flush=True,
        )
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            # the project's own functions and the libraries it calls per booking
            pattern = r"/(booking|platform|workflows)/|django_q|allauth|ninja/operation|sessions/backends"
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(pattern, 60)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            pstats.Stats(profiler).print_callers("update_wrapper|_find_and_load\\b")
    finally:
        made = Appointment.objects.filter(pk__gte=first_new)
        slot_ids = list(made.values_list("slot_id", flat=True))
        made.delete()
        Slot.objects.filter(pk__in=slot_ids).update(status="free", hold_expires_at=None)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(args[0], int(args[1]) if len(args) > 1 else 60, "--profile" in sys.argv, "--sql" in sys.argv)
