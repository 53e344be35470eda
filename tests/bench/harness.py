"""``make bench``: Medbook measured side by side with django-appointment 3.12 (the peer) on this machine.

What it does, in order (everything under ``var/bench/``; see README "Benchmarks"):

1. the peer's own virtualenv (``var/bench/peer-venv``: django-appointment 3.12.0 with Medbook's Django,
   gunicorn, psycopg; installed once) and a minimal peer project (``peer_project.py``);
2. the same data for both on each database: a private PostgreSQL database per app on the running
   server (``bench_mb_<pid>``, ``bench_peer_<pid>``, dropped at the end) and SQLite files; Medbook is
   migrated, gets the demo data (``seed_demo``, for the portal and the directory) and the benchmark's
   doctors, slots (through the weekly-pattern service, timed) and patients (``mb_seed.py``); the peer
   the same doctors, hours, bookings and patients (``peer_seed.py``);
3. both served by gunicorn with the same settings (``-w 2``, sync workers, DEBUG off), plus the peer
   project's trivial view ``/ok/`` as the unit;
4. interleaved rounds (peer, Medbook, peer, Medbook …): free slots of one doctor-day, of one doctor
   over 30 days (the peer has no range call: 30 one-day calls), bookings by 8 clients, the trivial
   view; reads with ``wrk`` (8 connections; a Python asyncio client if ``wrk`` is missing), bookings
   with ``load.py``'s httpx clients (Medbook: real bearer tokens); then Medbook alone: doctor search
   API and public directory page, portal pages as a patient, the admin appointment list on committed
   ``bench_admin`` rows;
5. server CPU per request from /proc (gunicorn master + workers, and the PostgreSQL backends of the
   app's database), req/s, p50/p95; a table with the ratio to the peer, the goal and met/not met,
   printed and written to ``var/bench/results.md`` (raw figures in ``var/bench/results.json``).

Everything started here runs in its own process group and is stopped on the way out, also on Ctrl-C,
SIGTERM or an error. Environment: ``BENCH_ROUNDS`` (3), ``BENCH_QUICK=1`` (a smoke run of about 3
minutes: 30 doctors, 1 round, short runs, 10,000 admin rows), ``BENCH_DBS`` (``sqlite pg``),
``BENCH_DOCTORS``, ``BENCH_DURATION`` (seconds per run), ``BENCH_ADMIN_ROWS``, ``BENCH_POSTGRES``
(``postgres://postgres@127.0.0.1:5432``), ``BENCH_NO_WRK=1`` (use the Python client for reads),
``BENCH_REPORT_ONLY=1`` (rebuild the table from the last run's ``results.json``; set the same
``BENCH_QUICK``/``BENCH_DOCTORS``/``BENCH_ROUNDS`` for its header).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE), str(REPO)]

import load  # noqa: E402
import peer_project  # noqa: E402
import probe  # noqa: E402
import report  # noqa: E402

WORK = REPO / "var" / "bench"
PEER_VENV = WORK / "peer-venv"
PEER_DIR = WORK / "peer"
PEER_REQUIREMENTS = [
    "django-appointment==3.12.0",
    "Django==5.2.19",  # Medbook's Django: the frameworks under both are the same
    "gunicorn==27.0.1",
    "psycopg[binary]==3.3.9",
]
MB_PYTHON = str(Path(sys.executable))
MB_GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


@dataclass
class Config:
    quick: bool = field(default_factory=lambda: os.environ.get("BENCH_QUICK") == "1")
    rounds: int = 0
    doctors: int = 0
    patients: int = 0
    duration: float = 0
    admin_rows: int = 0
    dbs: list[str] = field(default_factory=list)
    postgres: str = field(
        default_factory=lambda: os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    )
    clients: int = 8

    def __post_init__(self) -> None:
        env = os.environ.get
        self.rounds = int(env("BENCH_ROUNDS", "1" if self.quick else "3"))
        self.doctors = int(env("BENCH_DOCTORS", "30" if self.quick else "200"))
        self.duration = float(env("BENCH_DURATION", "3" if self.quick else "15"))
        self.admin_rows = int(env("BENCH_ADMIN_ROWS", "10000" if self.quick else "100000"))
        self.dbs = env("BENCH_DBS", "sqlite pg").split()
        if not set(self.dbs) <= {"sqlite", "pg"} or not self.dbs:
            raise SystemExit("BENCH_DBS: sqlite and/or pg")
        # a patient holds at most 2 unpaid bookings: 2 bookings per token. Enough bookings that a
        # booking run is bounded by its duration on both sides, as every other run is (with 1,500,
        # Medbook's runs ended after ~3 s of the peer's 15: too short to measure steadily)
        self.book_limit = 300 if self.quick else 6000
        self.patients = self.rounds * (self.book_limit // 2 + 4 * self.clients)
        self.ok_duration = 2.0 if self.quick else 10.0
        self.extra_duration = 3.0 if self.quick else 10.0
        self.page_duration = 2.0 if self.quick else 5.0
        self.admin_duration = 2.0 if self.quick else 10.0  # one connection: ~1-3 requests a second
        self.inproc_repeat = 1 if self.quick else 3
        self.warmup = 1.0 if self.quick else 2.0


# --- processes ------------------------------------------------------------------------------------


class Processes:
    """Every child process of the benchmark, each in its own process group; ``stop_all`` ends them."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []

    def spawn(self, argv: list[str], *, cwd: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen:
        handle = log_path.open("ab")
        try:
            child = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            handle.close()
        self.children.append(child)
        return child

    def run(self, argv: list[str], *, cwd: Path, env: dict[str, str], what: str, timeout: float = 1800) -> str:
        """Run to the end (in its own group, stopped with the rest on the way out); its output or an error."""
        log_path = WORK / "logs" / f"{what}.log"
        log_path.write_bytes(b"")
        child = self.spawn(argv, cwd=cwd, env=env, log_path=log_path)
        try:
            child.wait(timeout=timeout)
        finally:
            self.stop(child)
        output = log_path.read_text(errors="replace")
        if child.returncode != 0:
            raise RuntimeError(f"{what} failed ({child.returncode}); {log_path}:\n{output[-3000:]}")
        return output

    def run_parallel(self, jobs: list[tuple[str, list[str], Path, dict[str, str]]], timeout: float = 1800) -> None:
        started = []
        for what, argv, cwd, env in jobs:
            log_path = WORK / "logs" / f"{what}.log"
            log_path.write_bytes(b"")
            started.append((what, log_path, self.spawn(argv, cwd=cwd, env=env, log_path=log_path)))
        failed = []
        for what, log_path, child in started:
            try:
                child.wait(timeout=timeout)
            finally:
                self.stop(child)
            if child.returncode != 0:
                failed.append(f"{what} failed ({child.returncode}); {log_path}:\n{log_path.read_text()[-3000:]}")
        if failed:
            raise RuntimeError("\n".join(failed))

    def stop(self, child: subprocess.Popen, grace: float = 10.0) -> None:
        """SIGTERM to the child's group, SIGKILL after ``grace`` seconds."""
        group = child.pid
        if not _group_alive(group):
            child.poll()
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            child.poll()
            if not _group_alive(group):
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)

    def stop_all(self) -> None:
        for child in reversed(self.children):
            self.stop(child)


def _group_alive(group: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(group) and fields[0] not in ("Z", "X"):
            return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the bench ------------------------------------------------------------------------------------


@dataclass
class Server:
    who: str
    db: str
    process: subprocess.Popen
    port: int
    database: str  # PostgreSQL database name ('' on SQLite): its backends' CPU counts too

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def master(self) -> int:
        return self.process.pid


class Bench:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.procs = Processes()
        self.tag = f"{os.getpid()}"
        self.secret_key = secrets.token_urlsafe(48)
        self.fernet_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        self.databases: list[str] = []  # PostgreSQL databases this run created (dropped at the end)
        self.results: list[dict] = []
        self.notes: list[str] = []
        self.meta: dict[str, dict] = {}
        self.wrk = None if os.environ.get("BENCH_NO_WRK") == "1" else shutil.which("wrk")
        self.reader = "wrk" if self.wrk else "python-asyncio (wrk not installed)"

    # -- environments ---------------------------------------------------------------------------

    def pg_url(self, database: str) -> str:
        return f"{self.config.postgres.rstrip('/')}/{database}"

    def mb_database(self, db: str) -> str:
        return f"bench_mb_{self.tag}" if db == "pg" else ""

    def peer_database(self, db: str) -> str:
        return f"bench_peer_{self.tag}" if db == "pg" else ""

    def mb_env(self, db: str) -> dict[str, str]:
        """Medbook's production profile (DEBUG off) as tests/blackbox/stack.py runs it, minus Redis and
        the worker; API rate limits off (the load comes from one address: it measures the requests,
        not the limiter's refusals)."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(
                ("DJANGO_", "MEDBOOK_", "DATABASE_", "REDIS_", "EMAIL_", "Q_", "PYTEST", "API_", "BENCH_")
            )
            and key not in {"DEBUG", "SECRET_KEY", "SITE_URL", "ALLOWED_HOSTS"}
        }
        database = self.pg_url(self.mb_database(db)) if db == "pg" else f"sqlite:///{WORK / 'mb.sqlite3'}"
        env.update(
            DEBUG="0",
            SECRET_KEY=self.secret_key,
            FIELD_ENCRYPTION_KEYS=self.fernet_key,
            JWT_PRIVATE_KEY_FILE=str(WORK / "jwt.pem"),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SITE_URL="http://127.0.0.1:8000",
            SECURE_SSL_REDIRECT="0",
            DATABASE_URL=database,
            EMAIL_URL="locmem://",
            MEDBOOK_VAR_DIR=str(WORK / "mb-var"),
            STATIC_ROOT=str(WORK / "static"),
            MEDIA_ROOT=str(WORK / "media"),
            API_RATE_LIMIT_PER_IP="0",
            API_RATE_LIMIT_PER_USER="0",
            LOG_LEVEL="WARNING",
            PYTHONDONTWRITEBYTECODE="1",
            BENCH_DOCTORS=str(self.config.doctors),
            BENCH_PATIENTS=str(self.config.patients),
        )
        return env

    def peer_env(self, db: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PEER_", "BENCH_"))}
        env.update(
            PEER_SQLITE=str(WORK / "peer.sqlite3"),
            BENCH_DOCTORS=str(self.config.doctors),
            BENCH_PEER_PATIENTS=str(self.config.rounds * self.config.clients + 16),
            PYTHONDONTWRITEBYTECODE="1",
        )
        if db == "pg":
            url = self.config.postgres.removeprefix("postgres://").removeprefix("postgresql://")
            userinfo, _, hostport = url.rpartition("@")
            host, _, port = hostport.partition(":")
            env.update(
                PEER_DB="pg",
                PEER_PG_NAME=self.peer_database(db),
                PEER_PG_USER=userinfo or "postgres",
                PEER_PG_HOST=host or "127.0.0.1",
                PEER_PG_PORT=port or "5432",
            )
        else:
            env["PEER_DB"] = "sqlite"
        return env

    # -- setup ----------------------------------------------------------------------------------

    def prepare(self) -> None:
        for sub in ("logs", "lua", "mb-var", "media"):
            (WORK / sub).mkdir(parents=True, exist_ok=True)
        self._jwt_key()
        self._peer_venv()
        peer_project.write(PEER_DIR)
        self._peer_migrations()
        for path in [*WORK.glob("mb.sqlite3*"), *WORK.glob("peer.sqlite3*")]:
            path.unlink(missing_ok=True)
        if "pg" in self.config.dbs:
            self._check_postgres()
        # Medbook's schema: copies of migrated databases where possible (migrating takes a minute)
        jobs = []
        for db in self.config.dbs:
            jobs += self._mb_schema_jobs(db)
            jobs.append(
                (
                    f"peer-migrate-{db}",
                    [str(PEER_VENV / "bin/python"), "manage.py", "migrate", "--noinput", "-v", "0"],
                    PEER_DIR,
                    self.peer_env(db),
                )
            )
        jobs.append(
            (
                "collectstatic",
                [MB_PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                REPO,
                self.mb_env(self.config.dbs[0]),
            )
        )
        log(f"schemas: {', '.join(job[0] for job in jobs)}")
        self.procs.run_parallel(jobs)
        self._cache_schemas()
        log("demo data (seed_demo) and the peer's data")
        jobs = []
        for db in self.config.dbs:
            jobs.append((f"seed-demo-{db}", [MB_PYTHON, "manage.py", "seed_demo", "--quiet"], REPO, self.mb_env(db)))
            jobs.append(
                (
                    f"peer-seed-{db}",
                    [str(PEER_VENV / "bin/python"), str(HERE / "peer_seed.py"), str(WORK / f"peer_meta_{db}.json")],
                    PEER_DIR,
                    self.peer_env(db),
                )
            )
        self.procs.run_parallel(jobs)
        seeds = [
            (
                f"mb-seed-{db}",
                [MB_PYTHON, str(HERE / "mb_seed.py"), str(WORK / f"mb_meta_{db}.json")],
                REPO,
                self.mb_env(db),
            )
            for db in self.config.dbs
        ]
        log(f"Medbook data: {self.config.doctors} doctors, slots by the weekly-pattern service (timed)")
        if self.config.quick:  # both databases at once: a smoke run's generation time is only indicative
            self.procs.run_parallel(seeds)
        else:  # one at a time: the slot generation is timed
            for job in seeds:
                self.procs.run_parallel([job])
        for db in self.config.dbs:
            self.meta[f"mb_{db}"] = json.loads((WORK / f"mb_meta_{db}.json").read_text())
            self.meta[f"peer_{db}"] = json.loads((WORK / f"peer_meta_{db}.json").read_text())
            generation = self.meta[f"mb_{db}"]["generation"]
            log(
                f"  generation {db}: first {generation['first']['seconds']} s, rerun {generation['rerun']['seconds']} s "
                f"({generation['rerun']['days_created']} days created by the rerun)"
            )

    def _jwt_key(self) -> None:
        path = WORK / "jwt.pem"
        if path.exists():
            return
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        path.chmod(0o600)

    def _peer_venv(self) -> None:
        marker = PEER_VENV / ".bench-installed"
        wanted = "\n".join(PEER_REQUIREMENTS)
        if marker.exists() and marker.read_text() == wanted:
            return
        log(f"peer virtualenv {PEER_VENV}: {', '.join(PEER_REQUIREMENTS)}")
        shutil.rmtree(PEER_VENV, ignore_errors=True)
        env = dict(os.environ)
        self.procs.run(["python3", "-m", "venv", str(PEER_VENV)], cwd=WORK, env=env, what="peer-venv")
        self.procs.run(
            [str(PEER_VENV / "bin/pip"), "install", "-q", "--disable-pip-version-check", *PEER_REQUIREMENTS],
            cwd=WORK,
            env=env,
            what="peer-pip",
            timeout=900,
        )
        marker.write_text(wanted)

    def _peer_migrations(self) -> None:
        """django-appointment 3.12 ships no migrations: make them once in the peer's virtualenv."""
        site = next(PEER_VENV.glob("lib/python*/site-packages/appointment"))
        if list((site / "migrations").glob("0001_*.py")):
            return
        self.procs.run(
            [str(PEER_VENV / "bin/python"), "manage.py", "makemigrations", "appointment", "-v", "0"],
            cwd=PEER_DIR,
            env=self.peer_env("sqlite"),
            what="peer-makemigrations",
        )

    def _check_postgres(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.pg_url("postgres"), autocommit=True, connect_timeout=5):
                pass
        except psycopg.OperationalError as error:
            raise SystemExit(
                f"PostgreSQL at {self.config.postgres} is not reachable ({error}); run with BENCH_DBS=sqlite to skip it"
            )

    def _admin_sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_url("postgres"), autocommit=True) as admin:
            admin.execute(statement)

    def _migrations_hash(self) -> str:
        from tests.blackbox.stack import _migrations_hash

        return _migrations_hash()

    def _mb_schema_jobs(self, db: str) -> list:
        migrate = (
            f"mb-migrate-{db}",
            [MB_PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
            REPO,
            self.mb_env(db),
        )
        if db == "sqlite":
            cached = WORK / f"mb-migrated-{self._migrations_hash()}.sqlite3"
            if cached.exists():
                shutil.copyfile(cached, WORK / "mb.sqlite3")
                return []
            return [migrate]
        name = self.mb_database(db)
        self.databases.append(name)
        self._admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        # the black-box stack keeps a migrated template per set of migrations: copy it if there is one
        template = f"medbook_tpl_{self._migrations_hash()}"
        try:
            self._admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            log(f"{name}: a copy of the migrated template {template}")
            return []
        except Exception:  # noqa: BLE001 - no template (or in use): our own dump, or migrate afresh
            self._admin_sql(f'CREATE DATABASE "{name}"')
        dump = WORK / f"mb-migrated-{self._migrations_hash()}.pgdump"
        if dump.exists() and shutil.which("pg_restore"):
            self.procs.run(
                ["pg_restore", "--no-owner", "-d", self.pg_url(name), str(dump)],
                cwd=WORK,
                env=dict(os.environ),
                what="mb-restore-pg",
            )
            log(f"{name}: restored the migrated schema from {dump.name}")
            return []
        return [migrate]

    def _cache_schemas(self) -> None:
        """Keep the migrated schemas (a SQLite file, a pg_dump archive) for the next run: migrating
        takes minutes on a busy machine. Named by a hash of the migrations and requirements."""
        if "pg" in self.config.dbs and shutil.which("pg_dump"):
            dump = WORK / f"mb-migrated-{self._migrations_hash()}.pgdump"
            if not dump.exists():
                for old in WORK.glob("mb-migrated-*.pgdump"):
                    old.unlink()
                self.procs.run(
                    ["pg_dump", "-Fc", "-f", str(dump), self.pg_url(self.mb_database("pg"))],
                    cwd=WORK,
                    env=dict(os.environ),
                    what="mb-dump-pg",
                )
        if "sqlite" not in self.config.dbs:
            return
        cached = WORK / f"mb-migrated-{self._migrations_hash()}.sqlite3"
        if not cached.exists():
            for old in WORK.glob("mb-migrated-*.sqlite3"):
                old.unlink()
            shutil.copyfile(WORK / "mb.sqlite3", cached)

    def create_peer_database(self, db: str) -> None:
        if db == "pg":
            name = self.peer_database(db)
            self.databases.append(name)
            self._admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._admin_sql(f'CREATE DATABASE "{name}"')

    def drop_databases(self) -> None:
        for name in self.databases:
            try:
                self._admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as error:  # noqa: BLE001 - report and go on dropping the others
                print(f"could not drop {name}: {error}", file=sys.stderr)
        self.databases = []

    # -- servers --------------------------------------------------------------------------------

    def start(self, who: str, db: str) -> Server:
        port = free_port()
        common = ["-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5"]
        logfile = WORK / "logs" / f"gunicorn-{who}-{db}.log"
        if who == "mb":
            argv = [MB_GUNICORN, "--pythonpath", "platform,.", "config.wsgi", *common]
            process = self.procs.spawn(argv, cwd=REPO, env=self.mb_env(db), log_path=logfile)
            probe_path, database = "/api/v1/doctors", self.mb_database(db)
        else:
            argv = [str(PEER_VENV / "bin/gunicorn"), "peerproject.wsgi", *common]
            process = self.procs.spawn(argv, cwd=PEER_DIR, env=self.peer_env(db), log_path=logfile)
            probe_path, database = "/ok/", self.peer_database(db)
        server = Server(who=who, db=db, process=process, port=port, database=database)
        import httpx

        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{who} gunicorn exited ({process.returncode}):\n{logfile.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.base + probe_path, timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{who} gunicorn did not answer {probe_path} in 120 s")
            time.sleep(0.3)
        workers = [pid for pid in probe.process_tree(server.master) if pid != server.master]
        log(f"{who} on {db}: gunicorn master {server.master}, workers {workers}, {server.base}")
        return server

    # -- load -----------------------------------------------------------------------------------

    def read(
        self,
        server: Server,
        name: str,
        paths: list[str],
        *,
        headers: dict[str, str] | None = None,
        marker: str | None = None,
        connections: int = 8,
        duration: float | None = None,
    ) -> dict:
        duration = duration or self.config.duration
        headers = headers or {}
        if self.wrk:
            return self._wrk(server, name, paths, headers, marker, connections, duration)
        result = load.get(
            base=server.base,
            paths=paths,
            headers=headers,
            marker=marker or "",
            clients=connections,
            duration=duration,
            warmup=0.5,
            master=server.master,
            database=server.database,
        )
        return {
            "requests": result["ops"],
            "bad": result["errors"],
            "rps": result["rps"],
            "p50_ms": result.get("p50_ms"),
            "p95_ms": result.get("p95_ms"),
            "cpu": result["cpu"],
        }

    def _wrk(
        self,
        server: Server,
        name: str,
        paths: list[str],
        headers: dict[str, str],
        marker: str | None,
        connections: int,
        duration: float,
    ) -> dict:
        script = WORK / "lua" / f"{name}.lua"
        script.write_text(_lua(paths, headers, marker))
        threads = 2 if connections > 1 else 1
        before = probe.snap(server.master, server.database)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        output = subprocess.run(
            [
                self.wrk,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{duration:g}s",
                "--timeout",
                "30s",
                "-s",
                str(script),
                server.base,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=False,
        )
        after = probe.snap(server.master, server.database)
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        line = next((row for row in output.stdout.splitlines() if row.startswith("WRK ")), None)
        if line is None:
            raise RuntimeError(f"wrk {name}: no result\n{output.stdout}\n{output.stderr}")
        figures = {key: float(value) for key, value in re.findall(r"(\w+)=([-\d.]+)", line)}
        client_cpu = (children_after.ru_utime + children_after.ru_stime) - (
            children_before.ru_utime + children_before.ru_stime
        )
        requests = int(figures["requests"])
        return {
            "requests": requests,
            "bad": int(figures["bad"]),
            "rps": figures["rps"],
            # no request finished within the run (a page slower than the run): no latency to report
            "p50_ms": figures["p50_ms"] if requests else None,
            "p95_ms": figures["p95_ms"] if requests else None,
            "cpu": probe.delta(before, after, requests=requests, client_cpu=client_cpu),
        }

    def record(self, db: str, round_: int, who: str, test: str, result: dict) -> dict:
        row = {"db": db, "round": round_, "who": who, "test": test, **result}
        self.results.append(row)
        cpu = result.get("cpu", {})
        log(
            f"  {db} r{round_} {who:<4} {test:<14} {result.get('rps', 0):>8.1f}/s p50 {result.get('p50_ms') or 0:>7.1f} "
            f"p95 {result.get('p95_ms') or 0:>7.1f} ms  CPU {cpu.get('cpu_ms', 0):>7.2f} ms/op "
            f"(db {cpu.get('db_cpu_ms', 0):.2f})  bad {result.get('bad', result.get('errors', 0))}  "
            f"others {cpu.get('others_cores')} cores"
        )
        self.save()
        return row

    def save(self) -> None:
        meta = {
            key: {k: v for k, v in value.items() if k not in {"free_slots", "patient_ids", "patients"}}
            for key, value in self.meta.items()
        }
        (WORK / "results.json").write_text(
            json.dumps({"results": self.results, "notes": self.notes, "meta": meta, "reader": self.reader}, indent=1)
        )

    # -- the rounds -----------------------------------------------------------------------------

    def run_db(self, db: str) -> None:
        cfg = self.config
        peer_meta, mb_meta = self.meta[f"peer_{db}"], self.meta[f"mb_{db}"]
        rnd = random.Random(7)
        peer_day = [
            f"/appointment/ajax/available_slots/?selected_date={rnd.choice(peer_meta['workdays'])}"
            f"&staff_member={rnd.choice(peer_meta['staff_ids'])}&service_id={peer_meta['service_id']}"
            for _ in range(4000)
        ]
        peer_month = [  # one 30-day view = 30 one-day calls, weekends included
            f"/appointment/ajax/available_slots/?selected_date={day}&staff_member={rnd.choice(peer_meta['staff_ids'])}"
            f"&service_id={peer_meta['service_id']}"
            for day in peer_meta["days"] * 150
        ]
        rnd.shuffle(peer_month)
        mb_day = [
            f"/api/v1/doctor/{rnd.choice(mb_meta['doctor_ids'])}/schedules?from={day}&to={day}"
            for day in (rnd.choice(mb_meta["workdays"]) for _ in range(4000))
        ]
        mb_month = [
            f"/api/v1/doctor/{rnd.choice(mb_meta['doctor_ids'])}/schedules?from={mb_meta['date_from']}"
            f"&to={mb_meta['date_to']}"
            for _ in range(4000)
        ]
        ajax = {"X-Requested-With": "XMLHttpRequest"}
        peer = self.start("peer", db)
        mb = self.start("mb", db)
        try:
            # warm both (imports, connections, caches) before anything is measured
            self.read(peer, f"warm-peer-{db}", peer_day, headers=ajax, duration=cfg.warmup)
            self.read(mb, f"warm-mb-{db}", mb_day, duration=cfg.warmup)
            per_round_patients = cfg.patients // cfg.rounds
            for r in range(1, cfg.rounds + 1):
                log(f"{db}: round {r} of {cfg.rounds}")
                self.record(
                    db,
                    r,
                    "peer",
                    "slots_1d",
                    self.read(peer, f"peer-1d-{db}", peer_day, headers=ajax, marker='"success": true'),
                )
                self.record(db, r, "mb", "slots_1d", self.read(mb, f"mb-1d-{db}", mb_day, marker='"slots"'))
                self.record(
                    db,
                    r,
                    "peer",
                    "slots_30d",
                    self.read(peer, f"peer-30d-{db}", peer_month, headers=ajax, marker='"success"'),
                )
                self.record(db, r, "mb", "slots_30d", self.read(mb, f"mb-30d-{db}", mb_month, marker='"slots"'))
                chunk = cfg.book_limit + 2000  # the measured bookings and the warm-up's, per round
                self.record(
                    db,
                    r,
                    "peer",
                    "book",
                    load.book_peer(
                        base=peer.base,
                        meta=peer_meta,
                        first_patient=(r - 1) * cfg.clients,
                        slots=peer_meta["free_slots"][(r - 1) * chunk : r * chunk],
                        clients=cfg.clients,
                        duration=cfg.duration,
                        warmup=cfg.warmup,
                        limit=cfg.book_limit,
                        master=peer.master,
                        database=peer.database,
                    ),
                )
                tokens_file = WORK / f"tokens_{db}.json"
                self.procs.run(
                    [
                        MB_PYTHON,
                        str(HERE / "mb_auth.py"),
                        "tokens",
                        str(WORK / f"mb_meta_{db}.json"),
                        str((r - 1) * per_round_patients),
                        str(per_round_patients),
                        str(tokens_file),
                    ],
                    cwd=REPO,
                    env=self.mb_env(db),
                    what=f"mb-tokens-{db}-{r}",
                )
                self.record(
                    db,
                    r,
                    "mb",
                    "book",
                    load.book_medbook(
                        base=mb.base,
                        tokens=json.loads(tokens_file.read_text()),
                        slots=mb_meta["free_slots"][(r - 1) * chunk : r * chunk],
                        clients=cfg.clients,
                        duration=cfg.duration,
                        warmup=cfg.warmup,
                        limit=cfg.book_limit,
                        master=mb.master,
                        database=mb.database,
                    ),
                )
                self.record(
                    db, r, "peer", "ok", self.read(peer, f"ok-{db}", ["/ok/"], marker="ok", duration=cfg.ok_duration)
                )
            self.procs.stop(peer.process)
            self.medbook_only(db, mb)
        finally:
            self.procs.stop(peer.process)
            self.procs.stop(mb.process)

    def medbook_only(self, db: str, mb: Server) -> None:
        cfg = self.config
        log(f"{db}: doctor search API and public directory page (8 connections)")
        api = [
            "/api/v1/doctors",
            "/api/v1/doctors?q=Doc1",
            "/api/v1/doctors?q=Nguyen",
            "/api/v1/doctors?offset=20",
            "/api/v1/doctors?offset=100",
        ]
        directory = ["/doctors/", "/doctors/?q=Nguyen", "/doctors/?page=2"]
        self.record(
            db, 0, "mb", "doctors_api", self.read(mb, f"api-{db}", api, marker='"items"', duration=cfg.extra_duration)
        )
        self.record(db, 0, "mb", "directory", self.read(mb, f"dir-{db}", directory, duration=cfg.extra_duration))

        log(f"{db}: portal pages as patient1@example.com (8 connections each)")
        env = self.mb_env(db)
        patient = (
            self.procs.run(
                [MB_PYTHON, str(HERE / "mb_auth.py"), "cookie", "patient1@example.com"],
                cwd=REPO,
                env=env,
                what=f"portal-cookie-{db}",
            )
            .strip()
            .splitlines()[-1]
        )
        inproc = self.procs.run(
            [MB_PYTHON, "manage.py", "bench_portal", "--runs", str(cfg.inproc_repeat)],
            cwd=REPO,
            env=env,
            what=f"bench-portal-{db}",
        )
        self.notes.append(f"### bench_portal ({db}, in process)\n\n```\n{inproc.strip()}\n```")
        pages = [line.split()[0] for line in inproc.splitlines() if line.startswith("/portal/")]
        for page in pages:
            self.record(
                db,
                0,
                "mb",
                f"portal {page}",
                self.read(mb, f"portal-{db}", [page], headers={"Cookie": patient}, duration=cfg.page_duration),
            )

        log(f"{db}: admin appointment list on {cfg.admin_rows:,} committed appointments (bench_admin's generator)")
        people_file = WORK / f"admin_{db}.json"
        inproc = self.procs.run(
            [
                MB_PYTHON,
                str(HERE / "mb_auth.py"),
                "admin",
                str(cfg.admin_rows),
                str(people_file),
                str(cfg.inproc_repeat),
            ],
            cwd=REPO,
            env=env,
            what=f"bench-admin-{db}",
            timeout=3600,
        )
        self.notes.append(
            f"### bench_admin pages ({db}, {cfg.admin_rows:,} rows, in process)\n\n```\n{inproc.strip()}\n```"
        )
        people = json.loads(people_file.read_text())
        from urllib.parse import quote

        today = dt.date.today()
        admin_pages = [
            ("admin list", "/admin/booking/appointment/"),
            ("admin page 200", "/admin/booking/appointment/?p=200"),
            ("admin surname search", f"/admin/booking/appointment/?q={quote(people['surname'])}"),
            ("admin status filter", "/admin/booking/appointment/?status__exact=confirmed"),
            (
                "admin date filter",
                f"/admin/booking/appointment/?starts_at_from_0={today - dt.timedelta(days=30)}"
                f"&starts_at_from_1=00:00&starts_at_to_0={today}&starts_at_to_1=23:59",
            ),
            ("admin dashboard", "/admin/"),
        ]
        for label, page in admin_pages:
            self.record(
                db,
                0,
                "mb",
                label,
                self.read(
                    mb,
                    f"admin-{db}",
                    [page],
                    headers={"Cookie": people["admin"]},
                    connections=1,
                    duration=cfg.admin_duration,
                ),
            )
        for role in ("staff", "doctor"):
            self.record(
                db,
                0,
                "mb",
                f"{role} dashboard",
                self.read(
                    mb,
                    f"admin-{db}",
                    ["/admin/"],
                    headers={"Cookie": people[role]},
                    connections=1,
                    duration=cfg.admin_duration,
                ),
            )

    # -- all ------------------------------------------------------------------------------------

    def run(self) -> str:
        started = time.monotonic()
        log(
            f"{'quick' if self.config.quick else 'full'} run: databases {self.config.dbs}, {self.config.rounds} "
            f"round(s), {self.config.doctors} doctors, {self.config.duration:g} s per run, reads by {self.reader}"
        )
        for db in self.config.dbs:
            self.create_peer_database(db)
        self.prepare()
        for db in self.config.dbs:
            self.run_db(db)
        self.save()
        table = report.build(self, minutes=(time.monotonic() - started) / 60)
        (WORK / "results.md").write_text(table)
        return table


def _lua(paths: list[str], headers: dict[str, str], marker: str | None) -> str:
    def quote(text: str) -> str:
        assert "]]" not in text
        return f"[[{text}]]"

    return (
        "local paths = {" + ",".join(quote(p) for p in paths) + "}\n"
        "local headers = {" + ",".join(f"[ {quote(k)} ] = {quote(v)}" for k, v in headers.items()) + "}\n"
        f"local marker = {quote(marker) if marker else 'nil'}\n"
        + """
local threads = {}
local made = 0
setup = function(thread)
  made = made + 1
  thread:set("counter", made * 7919)  -- each thread walks the (shuffled) paths from its own place
  table.insert(threads, thread)
end
init = function(args) bad = 0 end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1], headers)
end
response = function(status, hdrs, body)
  if status ~= 200 or (marker and not string.find(body, marker, 1, true)) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  local nbad = 0
  for _, t in ipairs(threads) do nbad = nbad + t:get("bad") end
  local s = summary.duration / 1e6
  io.write(string.format("WRK bad=%d requests=%d duration_s=%.2f rps=%.2f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f "
    .. "errors=%d\\n", nbad, summary.requests, s, summary.requests / s, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""
    )


def main() -> int:
    config = Config()

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    WORK.mkdir(parents=True, exist_ok=True)
    bench = Bench(config)
    if os.environ.get("BENCH_REPORT_ONLY") == "1":  # rebuild results.md from the last run's results.json
        saved = json.loads((WORK / "results.json").read_text())
        bench.results, bench.notes, bench.meta, bench.reader = (
            saved["results"],
            saved["notes"],
            saved.get("meta", {}),
            saved.get("reader", "wrk"),
        )
        bench.config.dbs = list(dict.fromkeys(row["db"] for row in bench.results))
        table = report.build(bench, minutes=0)
        (WORK / "results.md").write_text(table)
        print(table)
        return 0
    try:
        table = bench.run()
        print(table)
        log(f"written to {WORK / 'results.md'} (raw figures: {WORK / 'results.json'})")
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        bench.procs.stop_all()
        bench.drop_databases()
        for path in [*WORK.glob("mb.sqlite3*"), *WORK.glob("peer.sqlite3*")]:
            path.unlink(missing_ok=True)
        log("stopped everything the benchmark started; its databases are dropped")


if __name__ == "__main__":
    sys.exit(main())
