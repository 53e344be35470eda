"""Time the weekly-pattern slot generation: N new doctors x 1 month (weekdays 08:00-17:00, 30-minute
slots), then the idempotent re-run, inside one transaction that is rolled back (the database is left as
it was). Not a pytest module. usage, from the checkout with the environment set (DATABASE_URL etc.):

    .venv/bin/python tests/bench/perf_generate.py [N=200] [--profile] [--per-doctor]

All doctors go through one call of ``availability_generate_weekly_batch`` (what the bench's seeding
times); ``--per-doctor`` calls ``availability_generate_weekly`` once per doctor instead (the way it was
before the batch existed). On PostgreSQL the foreign keys are checked at the commit (deferred): the timed
part ends with ``SET CONSTRAINTS ALL IMMEDIATE``, which runs those checks, so a rolled-back run costs
what a committed one would (but the commit's WAL flush). ``--profile`` prints a cProfile (CPU time) of
the first run.
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


def generate(doctors, *, per_doctor: bool, **pattern) -> tuple[int, int]:
    """Days created and skipped for ``doctors``, by one batch call or one call per doctor."""
    if per_doctor:
        results = [availability_generate_weekly(doctor=doctor, **pattern) for doctor in doctors]
    else:
        from booking.services.scheduling import availability_generate_weekly_batch

        results = list(availability_generate_weekly_batch(doctors=doctors, **pattern).values())
    return sum(len(r.created) for r in results), sum(len(r.skipped) for r in results)


def run_deferred_checks() -> None:
    """Run the checks PostgreSQL defers to the commit (the foreign keys) now, inside the timing."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def main(n: int, profile: bool = False, per_doctor: bool = False) -> None:
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
                queries: list[str] = []

                def count(execute, sql, *rest, queries=queries):
                    queries.append(sql)
                    return execute(sql, *rest)

                profiler = cProfile.Profile(time.process_time) if profile and run == "first" else None
                if profiler:
                    profiler.enable()
                with connection.execute_wrapper(count):
                    created, skipped = generate(
                        doctors, per_doctor=per_doctor, weekdays={0, 1, 2, 3, 4}, start_time=dt.time(8),
                        end_time=dt.time(17), slot_minutes=30, date_from=date_from, date_to=date_to, actor=None,
                        now=now,
                    )  # fmt: skip
                    run_deferred_checks()
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
                mode = "per-doctor" if per_doctor else "batch"
                print("GEN", connection.vendor, n, mode, run, json.dumps(figures), flush=True)
                if profiler:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
                    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
            raise Rollback
    except Rollback:
        print("rolled back")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 200, profile="--profile" in sys.argv, per_doctor="--per-doctor" in sys.argv)
