"""Free-slot reads over HTTP, several checkouts side by side, the way ``make bench`` measures them:
gunicorn ``-w 2`` sync workers with DEBUG off (Medbook's production profile, no Redis, API rate limits
off), wrk with 8 connections over the same random doctor-days (and 30-day ranges), server CPU per
request from /proc (gunicorn master + workers + the PostgreSQL backends of the database: ``probe.py``),
in interleaved rounds; plus a trivial Django view (the peer's middleware, no database) as the unit.
Not a pytest module. For comparing code before and after a change on one busy machine:

    .venv/bin/python tests/bench/ab_reads.py --database postgres://postgres@127.0.0.1:5432/DB \\
        --meta var/bench/mb_meta_pg.json --checkout before=/tmp/base --checkout after=. \\
        [--port 8740] [--rounds 3] [--duration 6]

The database is seeded by ``mb_seed.py`` (its META.json names the doctors and dates); every checkout
reads the same database. Everything it starts is stopped on the way out.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import probe  # noqa: E402
from harness import _lua  # noqa: E402

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
WRK = shutil.which("wrk") or "wrk"

UNIT_SETTINGS = """
SECRET_KEY = "ab-reads-unit-0123456789-0123456789-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                  "django.contrib.messages"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "unit_urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
"""
UNIT_URLS = """
from django.http import HttpResponse
from django.urls import path

def ok(request):
    return HttpResponse("ok", content_type="text/plain")

urlpatterns = [path("ok/", ok)]
"""


def medbook_env(database: str, var: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "MEDBOOK_", "DATABASE_", "REDIS_", "EMAIL_", "Q_", "PYTEST", "API_"))
        and key not in {"DEBUG", "SECRET_KEY", "SITE_URL", "ALLOWED_HOSTS"}
    }
    pem = var / "jwt.pem"
    if not pem.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),
        FIELD_ENCRYPTION_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        JWT_PRIVATE_KEY_FILE=str(pem),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL="http://127.0.0.1:8000",
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=database,
        EMAIL_URL="locmem://",
        MEDBOOK_VAR_DIR=str(var / "mb-var"),
        STATIC_ROOT=str(var / "static"),
        MEDIA_ROOT=str(var / "media"),
        API_RATE_LIMIT_PER_IP="0",
        API_RATE_LIMIT_PER_USER="0",
        LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


class Server:
    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict, port: int, probe_path: str, log: Path):
        self.name, self.port, self.database = name, port, ""
        self.process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{log.read_text()[-3000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}{probe_path}", timeout=5) as answer,  # noqa: S310
            ):
                if answer.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer in 120 s")
            time.sleep(0.3)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wrk(server: Server, paths: list[str], marker: str, duration: float, work: Path) -> dict:
    script = work / f"{server.name}-{abs(hash(tuple(paths))) % 10**8}.lua"
    script.write_text(_lua(paths, {}, marker))
    before = probe.snap(server.process.pid, server.database)
    output = subprocess.run(
        [
            WRK,
            "-t2",
            "-c8",
            f"-d{duration:g}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://127.0.0.1:{server.port}",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    after = probe.snap(server.process.pid, server.database)
    line = next((row for row in output.stdout.splitlines() if row.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk: no result\n{output.stdout}\n{output.stderr}")
    figures = {key: float(value) for key, value in re.findall(r"(\w+)=([-\d.]+)", line)}
    requests = int(figures["requests"])
    cpu = probe.delta(before, after, requests=requests)
    return {
        "rps": figures["rps"],
        "bad": int(figures["bad"]),
        "p50": figures["p50_ms"],
        "p95": figures["p95_ms"],
        **cpu,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--meta", required=True, type=Path)
    parser.add_argument("--checkout", action="append", required=True, help="NAME=PATH")
    parser.add_argument("--port", type=int, default=8740)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=6)
    parser.add_argument("--no-unit", action="store_true")
    args = parser.parse_args()
    meta = json.loads(args.meta.read_text())
    rnd = random.Random(7)
    tests = {
        "slots_1d": [
            f"/api/v1/doctor/{rnd.choice(meta['doctor_ids'])}/schedules?from={day}&to={day}"
            for day in (rnd.choice(meta["workdays"]) for _ in range(4000))
        ],
        "slots_30d": [
            f"/api/v1/doctor/{rnd.choice(meta['doctor_ids'])}/schedules?from={meta['date_from']}&to={meta['date_to']}"
            for _ in range(4000)
        ],
    }
    database_name = args.database.rsplit("/", 1)[1]
    work = Path(tempfile.mkdtemp(prefix="ab-reads-"))
    (work / "unit").mkdir()
    (work / "unit" / "unit_settings.py").write_text(UNIT_SETTINGS)
    (work / "unit" / "unit_urls.py").write_text(UNIT_URLS)
    common = ["-w", "2", "-k", "sync", "--timeout", "60", "--graceful-timeout", "5"]
    servers: list[Server] = []

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        port = args.port
        env = medbook_env(args.database, work)
        for spec in args.checkout:
            name, path = spec.split("=", 1)
            argv = [GUNICORN, "--pythonpath", "platform,.", "config.wsgi", "-b", f"127.0.0.1:{port}", *common]
            server = Server(name, argv, Path(path).resolve(), env, port, "/api/v1/doctors", work / f"{name}.log")
            server.database = database_name
            servers.append(server)
            port += 1
        if not args.no_unit:
            unit_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "unit_settings"}
            argv = [GUNICORN, "--pythonpath", str(work / "unit"), "django.core.wsgi:get_wsgi_application()"]
            servers.append(
                Server(
                    "unit", [*argv, "-b", f"127.0.0.1:{port}", *common], work, unit_env, port, "/ok/", work / "unit.log"
                )
            )
        print(f"load: {os.getloadavg()}", flush=True)
        for server in servers:  # warm-up: imports, connections, compiled statements
            if server.name == "unit":
                wrk(server, ["/ok/"], "ok", 2, work)
            else:
                for paths in tests.values():
                    wrk(server, paths, '"slots"', 2, work)
        for round_ in range(1, args.rounds + 1):
            for test, paths in tests.items():
                for server in servers:
                    if server.name == "unit":
                        if test != "slots_1d":
                            continue
                        result = wrk(server, ["/ok/"], "ok", args.duration, work)
                        key = ("unit", "ok")
                    else:
                        result = wrk(server, paths, '"slots"', args.duration, work)
                        key = (server.name, test)
                    results.setdefault(key, []).append(result)
                    print(
                        f"r{round_} {key[0]:<8} {key[1]:<10} {result['rps']:>8.1f}/s p50 {result['p50']:>6.1f} "
                        f"p95 {result['p95']:>6.1f} ms  CPU {result.get('cpu_ms', 0):>6.2f} ms "
                        f"(server {result.get('server_cpu_ms', 0):.2f}, db {result.get('db_cpu_ms', 0):.2f})  "
                        f"bad {result['bad']}  others {result['others_cores']} cores",
                        flush=True,
                    )
        print(f"load: {os.getloadavg()}")
        print("\nmedian of the rounds: CPU-ms per request (server + db), req/s")
        for (name, test), rows in results.items():
            cpu = statistics.median(row["cpu_ms"] for row in rows)
            server_cpu = statistics.median(row["server_cpu_ms"] for row in rows)
            db_cpu = statistics.median(row["db_cpu_ms"] for row in rows)
            rps = statistics.median(row["rps"] for row in rows)
            spread = f"{min(row['cpu_ms'] for row in rows):.2f}-{max(row['cpu_ms'] for row in rows):.2f}"
            print(f"{name:<8} {test:<10} {cpu:6.2f} ({spread}; server {server_cpu:.2f}, db {db_cpu:.2f})  {rps:8.1f}/s")
    finally:
        for server in servers:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
