"""Time the weekly-pattern slot generation: N new doctors x 1 month (weekdays 08:00-17:00, 30-minute
slots), then the idempotent re-run, inside one transaction that is rolled back (the database is left as
it was). Not a pytest module. usage, from the checkout with the environment set (DATABASE_URL etc.):

    .venv/bin/python tests/bench/perf_generate.py [N=200] [--profile]

``--profile`` prints a cProfile (CPU time) of the first run.
"""

import cProfile
import datetime as dt
import json
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role  # noqa: E402
from accounts.services import user_create  # noqa: E402
from booking.models import Doctor, Slot  # noqa: E402
from booking.services.scheduling import availability_generate_weekly  # noqa: E402


class Rollback(Exception):
    pass


def db_cpu_seconds() -> float:
    """CPU seconds of this connection's PostgreSQL backend so far (0 on SQLite: it runs in-process)."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(n: int, profile: bool = False) -> None:
    try:
        with transaction.atomic():
            doctors = [
                Doctor.objects.create(
                    user=user_create(email=f"perfgen{i}@clinic.test", role=Role.DOCTOR, password=None),
                    title="BS",
                    is_active=True,
                )
                for i in range(n)
            ]
            now = timezone.now()
            today = now.astimezone(doctors[0].zone).date()
            date_from, date_to = today + dt.timedelta(days=1), today + dt.timedelta(days=30)
            for run in ("first", "rerun"):
                started, cpu, db_cpu = time.perf_counter(), time.process_time(), db_cpu_seconds()
                created = skipped = 0
                queries: list[str] = []

                def count(execute, sql, *rest, queries=queries):
                    queries.append(sql)
                    return execute(sql, *rest)

                profiler = cProfile.Profile(time.process_time) if profile and run == "first" else None
                if profiler:
                    profiler.enable()
                with connection.execute_wrapper(count):
                    for doctor in doctors:
                        result = availability_generate_weekly(
                            doctor=doctor, weekdays={0, 1, 2, 3, 4}, start_time=dt.time(8), end_time=dt.time(17),
                            slot_minutes=30, date_from=date_from, date_to=date_to, actor=None, now=now,
                        )  # fmt: skip
                        created += len(result.created)
                        skipped += len(result.skipped)
                if profiler:
                    profiler.disable()
                figures = {
                    "seconds": round(time.perf_counter() - started, 2),
                    "python_cpu_s": round(time.process_time() - cpu, 2),
                    "db_cpu_s": round(db_cpu_seconds() - db_cpu, 2),
                    "created": created,
                    "skipped": skipped,
                    "queries": len(queries),
                    "slots": Slot.objects.filter(doctor__in=doctors).count(),
                }
                print("GEN", connection.vendor, n, run, json.dumps(figures), flush=True)
                if profiler:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
                    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
            raise Rollback
    except Rollback:
        print("rolled back")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 200, profile="--profile" in sys.argv)
