"""Time the admin appointment list's queries for a surname search, a status filter and page 200 the way
the changelist runs them (search over ``search_fields``, newest first, 50 rows), on the data that
../shared/bench-reference/admin_commit.py leaves (100k appointments). Not a pytest module. usage, from
the checkout with the environment set:  .venv/bin/python tests/bench/perf_admin_search.py SURNAME
"""

import os
import statistics
import sys
import time
from functools import reduce
from operator import or_
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

from django.db.models import Q  # noqa: E402

from booking.admin.appointments import AppointmentAdmin  # noqa: E402
from booking.models import Appointment  # noqa: E402


def timed(label: str, queryset, runs: int = 7) -> None:
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        ids = list(queryset.values_list("pk", flat=True)[:50])
        rows = list(Appointment.objects.filter(pk__in=ids).select_related(*AppointmentAdmin.list_select_related))
        walls.append((time.perf_counter() - started) * 1000)
    print(
        f"{label:30} median {statistics.median(walls):7.1f} ms  max {max(walls):7.1f} ms  rows {len(rows)}", flush=True
    )


def main(surname: str) -> None:
    print("appointments:", Appointment.objects.count())
    order = AppointmentAdmin.ordering
    fields = [name for name in AppointmentAdmin.search_fields if not name.startswith("=")]
    search = reduce(or_, (Q(**{f"{name}__icontains": surname}) for name in fields))
    timed("first page", Appointment.objects.order_by(*order))
    timed(f"search {surname!r}", Appointment.objects.filter(search).order_by(*order))
    rare = "Pat0042"
    timed(
        f"search {rare!r}",
        Appointment.objects.filter(reduce(or_, (Q(**{f"{n}__icontains": rare}) for n in fields))).order_by(*order),
    )
    timed("status confirmed", Appointment.objects.filter(status="confirmed").order_by(*order))
    timed("page 200", Appointment.objects.order_by(*order)[199 * 50 :])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Nguyễn")
