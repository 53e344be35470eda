"""Load the directory page, the doctor search API and the portal pages of an already running Medbook
(gunicorn) with ``wrk`` (8 connections) the way ``make bench`` does, and print req/s, p50/p95 and
the server's CPU-ms per request (gunicorn master + workers + the database's PostgreSQL backends,
from ``/proc``). Not a pytest module. usage:

    .venv/bin/python tests/bench/wrk_pages.py BASE_URL GUNICORN_MASTER_PID DATABASE [SECONDS] [COOKIE]
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

import probe  # noqa: E402
from harness import _lua  # noqa: E402

DIRECTORY = ["/doctors/", "/doctors/?q=Nguyen", "/doctors/?page=2"]
API = ["/api/v1/doctors", "/api/v1/doctors?q=Doc1", "/api/v1/doctors?q=Nguyen", "/api/v1/doctors?offset=20",
       "/api/v1/doctors?offset=100"]  # fmt: skip


def run(base: str, master: int, database: str, name: str, paths, *, seconds: float, headers=None, marker=None):
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(paths, headers or {}, marker))
    before = probe.snap(master, database)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [wrk, "-t2", "-c8", f"-d{seconds:g}s", "--timeout", "30s", "-s", script.name, base],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    after = probe.snap(master, database)
    later = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(row for row in out.stdout.splitlines() if row.startswith("WRK "))
    figures = {key: float(value) for key, value in re.findall(r"(\w+)=([-\d.]+)", line)}
    client = (later.ru_utime + later.ru_stime) - (children.ru_utime + children.ru_stime)
    cpu = probe.delta(before, after, requests=int(figures["requests"]), client_cpu=client)
    print(
        f"{name:<28} {figures['rps']:>7.1f}/s p50 {figures['p50_ms']:>6.1f} p95 {figures['p95_ms']:>6.1f} ms "
        f"CPU {cpu.get('cpu_ms', 0):>6.2f} ms/req (db {cpu.get('db_cpu_ms', 0):.2f}) bad {int(figures['bad'])} "
        f"others {cpu['others_cores']} cores",
        flush=True,
    )
    return {"name": name, **figures, "cpu": cpu}


def main() -> None:
    base, master, database = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 10
    cookie = sys.argv[5] if len(sys.argv) > 5 else ""
    results = [
        run(base, master, database, "directory", DIRECTORY, seconds=seconds),
        run(base, master, database, "doctors_api", API, seconds=seconds, marker='"items"'),
    ]
    if cookie:
        pages = ["/portal/", "/doctors/", "/portal/appointments/", "/portal/follow-ups/", "/portal/profile/",
                 "/portal/notifications/"] + sys.argv[6:]  # fmt: skip
        for page in pages:
            results.append(run(base, master, database, f"portal {page}", [page], seconds=seconds / 2,
                               headers={"Cookie": cookie}))  # fmt: skip
    print(json.dumps(results))


if __name__ == "__main__":
    main()
