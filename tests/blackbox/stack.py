"""The real Medbook stack, started the way production runs it, for black-box tests.

``Stack`` creates a fresh PostgreSQL database, migrates it, collects static files and loads the
demo data (``seed_demo``) with management commands, then starts

- ``gunicorn`` with DEBUG off and 2 workers (``config.wsgi``, ``--pythonpath platform,.``),
- one ``manage.py qcluster`` with the Redis broker (``REDIS_URL``),
- a local SMTP server (``SmtpSink``, aiosmtpd in this process) that every email goes to,

with the environment production needs (``SECRET_KEY``, an RSA ``JWT_PRIVATE_KEY_FILE``,
``ALLOWED_HOSTS``, ``SITE_URL``, ``SECURE_SSL_REDIRECT=0`` because no TLS proxy sits in front).
Each server runs in its own process group on a random port and is stopped with its group.

Tests talk to it only over HTTP (``httpx``), create data through the API or management commands
(``Stack.manage``) and read the database only to check invariants (``Stack.sql``).

Configuration (environment):

- ``MEDBOOK_STACK_POSTGRES``: the server, default ``postgres://postgres@127.0.0.1:5432``;
- ``MEDBOOK_STACK_DB``: the database name, default ``medbook_stack_<pid>`` (dropped afterwards
  unless ``MEDBOOK_STACK_KEEP=1``);
- ``MEDBOOK_STACK_REDIS_URL``: the Redis database, default ``redis://127.0.0.1:6379/2`` (flushed
  at the start: give each parallel run its own database number);
- ``MEDBOOK_REQUIRE_STACK=1`` (CI): a missing PostgreSQL or Redis fails the run instead of
  skipping the black-box tests.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email
import email.policy
import http.cookies
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
DEMO_PASSWORD = "medbook-demo-2026"  # noqa: S105 - the documented demo credential (cms seed_demo)


def require_stack() -> bool:
    return os.environ.get("MEDBOOK_REQUIRE_STACK", "") == "1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --- SMTP -----------------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    received_at: float

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"] or "")

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain", "html"))
        return body.get_content() if body is not None else ""


class SmtpSink:
    """A real SMTP server on localhost that keeps every message it accepts.

    ``stall()`` makes it keep each message (it counts as delivered from then on) but hold back the
    "250 OK" until ``release()``: the client is left waiting between the server accepting and the
    client learning it, which is the window a crashed worker can leave behind.
    """

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.received: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._stalled = threading.Event()
        self.accepted_while_stalled = threading.Event()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.release()
        self.controller.stop()

    def stall(self) -> None:
        self.accepted_while_stalled.clear()
        self._stalled.set()

    def release(self) -> None:
        self._stalled.clear()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            raw=bytes(envelope.original_content or envelope.content),
            received_at=time.monotonic(),
        )
        with self._lock:
            self.received.append(mail)
        if self._stalled.is_set():
            self.accepted_while_stalled.set()
            while self._stalled.is_set():
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"

    def messages(self, *, to: str | None = None) -> list[ReceivedMail]:
        with self._lock:
            found = list(self.received)
        return [m for m in found if to is None or to in m.rcpt_tos]

    def wait_for(self, predicate, *, timeout: float = 60.0) -> list[ReceivedMail]:
        """Wait until ``predicate(messages)`` is true; returns the messages."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages()
            if predicate(found):
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"SMTP sink: condition not met in {timeout} s ({len(found)} messages)")
            time.sleep(0.1)


# --- a TCP proxy that can cut connections -------------------------------------------------------


class TcpProxy:
    """Forwards a localhost port to ``target``; ``cut()`` breaks every connection and refuses new
    ones (accepts and closes at once), ``restore()`` forwards again. For "the database went away"."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._cut = threading.Event()
        self._closing = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def restore(self) -> None:
        self._cut.clear()

    def stop(self) -> None:
        self._closing.set()
        self.cut()
        self._thread.join(timeout=5)
        self._server.close()

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(sink)


# --- processes ------------------------------------------------------------------------------------


@dataclass
class Service:
    """A server process started in its own process group, its output in ``log``."""

    name: str
    process: subprocess.Popen
    log: Path
    port: int | None = None

    @property
    def pgid(self) -> int:
        return self.process.pid  # start_new_session: the leader's pid is the group id

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signum)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        # zombies of the group count as gone once the leader has been reaped
        return self.process.poll() is None or _group_has_live_members(self.pgid)

    def stop(self, *, grace: float = 15.0) -> float:
        """SIGTERM to the group, SIGKILL after ``grace`` seconds; returns how long it took."""
        started = time.monotonic()
        self.signal_group(signal.SIGTERM)
        deadline = started + grace
        while time.monotonic() < deadline:
            if self.process.poll() is not None and not _group_has_live_members(self.pgid):
                return time.monotonic() - started
            time.sleep(0.05)
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL to the whole group, as a crash or the OOM killer would."""
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _group_has_live_members(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _group_has_live_members(pgid: int) -> bool:
    """Whether any non-zombie process is still in group ``pgid`` (Linux /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state ppid pgrp ...
        if fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


# --- the stack ------------------------------------------------------------------------------------


@dataclass
class Tokens:
    access: str
    refresh: str
    user_id: int | None = None


@dataclass
class Stack:
    """The running stack. Use ``Stack.start()`` (a context manager) or the ``stack`` fixture."""

    workdir: Path
    postgres: str = field(
        default_factory=lambda: os.environ.get("MEDBOOK_STACK_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    )
    database: str = field(default_factory=lambda: os.environ.get("MEDBOOK_STACK_DB", f"medbook_stack_{os.getpid()}"))
    redis_url: str = field(
        default_factory=lambda: os.environ.get("MEDBOOK_STACK_REDIS_URL", "redis://127.0.0.1:6379/2")
    )
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    field_encryption_key: str = field(
        default_factory=lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    )
    web: Service | None = None
    worker: Service | None = None
    extra: list[Service] = field(default_factory=list)
    smtp: SmtpSink | None = None
    port: int = field(default_factory=free_port)
    #: seconds each setup step took (printed in the session's summary by the plugin)
    timings: dict[str, float] = field(default_factory=dict)

    # -- reachability --------------------------------------------------------------------------

    def unreachable(self) -> list[str]:
        """What the stack needs and cannot reach: PostgreSQL, Redis."""
        missing = []
        pg = urlsplit(self.postgres)
        if not port_open(pg.hostname or "127.0.0.1", pg.port or 5432):
            missing.append(f"PostgreSQL at {pg.hostname}:{pg.port or 5432}")
        redis = urlsplit(self.redis_url)
        if not port_open(redis.hostname or "127.0.0.1", redis.port or 6379):
            missing.append(f"Redis at {redis.hostname}:{redis.port or 6379}")
        return missing

    # -- environment ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"{self.postgres.rstrip('/')}/{self.database}"

    def env(self, **overrides: str) -> dict[str, str]:
        """The production environment of every process of the stack (``overrides`` win)."""
        base = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "MEDBOOK_", "DATABASE_", "REDIS_", "EMAIL_", "Q_", "PYTEST"))
            and key not in {"DEBUG", "SECRET_KEY", "SITE_URL"}
        }
        base.update(
            {
                "DEBUG": "0",
                "SECRET_KEY": self.secret_key,
                "JWT_PRIVATE_KEY_FILE": str(self.workdir / "jwt.pem"),
                # clinical text is encrypted at rest; production must name its keys (the newest first)
                "FIELD_ENCRYPTION_KEYS": self.field_encryption_key,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SITE_URL": self.url,
                "CSRF_TRUSTED_ORIGINS": self.url,
                "SECURE_SSL_REDIRECT": "0",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp.port if self.smtp else 25}?timeout=10",
                "MEDBOOK_VAR_DIR": str(self.workdir / "var"),
                "STATIC_ROOT": str(self.workdir / "static"),
                "MEDIA_ROOT": str(self.workdir / "media"),
                "Q_WORKERS": "2",
                "BOOKING_MAX_HOLDS_PER_PATIENT": "50",
                # production's window, a lower per-IP budget so that a test can reach it quickly
                # (every harness client is 127.0.0.1; the plugin resets the counters between tests)
                "API_RATE_LIMIT_WINDOW": "60",
                "API_RATE_LIMIT_PER_IP": "300",
                "API_RATE_LIMIT_PER_USER": "300",
                # the contract and fault suites pay through the sandbox gateway, as a test clinic would
                "PAYMENT_SANDBOX_ENABLED": "1",
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
                "LOG_LEVEL": "INFO",
            }
        )
        base.update(overrides)
        return base

    def reset_rate_limits(self) -> int:
        """Forget every rate-limit counter in the stack's Redis db: the API's (core.ratelimit) and
        allauth's sign-in limits.

        Every client of the harness comes from 127.0.0.1, so one test's requests would otherwise
        count against the next test's budget. Returns how many counters were dropped."""
        import redis

        client = redis.Redis.from_url(self.redis_url)
        keys = [key for pattern in ("*:ratelimit:*", "*:allauth:rl:*") for key in client.scan_iter(match=pattern)]
        return client.delete(*keys) if keys else 0

    # -- setup ---------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Fresh database and Redis db, migrated, static files collected, demo data loaded."""
        import redis

        (self.workdir / "var").mkdir(parents=True, exist_ok=True)
        (self.workdir / "media").mkdir(exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        _write_rsa_key(self.workdir / "jwt.pem")
        redis.Redis.from_url(self.redis_url).flushdb()
        self.smtp = SmtpSink()
        self.smtp.start()
        # collectstatic needs no database: run it beside the migrations
        collect = subprocess.Popen(
            [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=REPO,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._timed("database", self._create_database)
        self._timed("collectstatic", lambda: _finish(collect, "collectstatic", timeout=300))
        self._timed("seed_demo", lambda: self.manage("seed_demo", timeout=300))

    def _admin(self):
        import psycopg

        return psycopg.connect(f"{self.postgres.rstrip('/')}/postgres", autocommit=True)

    def _create_database(self) -> None:
        """A copy of a migrated template database, built once per set of migrations.

        Migrating takes minutes on a busy 2-core machine; copying a template takes a second. The
        template's name carries a hash of every migration file and of requirements.txt, so any
        change to them builds a new one (``MEDBOOK_STACK_TEMPLATE=0`` always migrates afresh).
        """
        use_template = os.environ.get("MEDBOOK_STACK_TEMPLATE", "1") != "0"
        template = f"medbook_tpl_{_migrations_hash()}"
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone()
        if use_template and exists:
            with self._admin() as admin:
                admin.execute(f'CREATE DATABASE "{self.database}" TEMPLATE "{template}"')
            return
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self.manage("migrate", "--noinput", "-v", "0", timeout=900)
        if use_template:
            building = f"{template}_{os.getpid()}"
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{building}"')
                admin.execute(f'CREATE DATABASE "{building}" TEMPLATE "{self.database}"')
                with contextlib.suppress(Exception):  # another run may have built it meanwhile
                    admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
                admin.execute(f'DROP DATABASE IF EXISTS "{building}"')

    def _timed(self, what: str, step) -> None:
        started = time.monotonic()
        step()
        self.timings[what] = round(time.monotonic() - started, 1)

    def manage(self, *args: str, timeout: float = 120, env: dict | None = None) -> str:
        """Run ``manage.py *args`` with the stack's environment; returns its output (raises on failure)."""
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=REPO,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def _spawn(self, name: str, argv: list[str], *, env: dict[str, str], port: int | None = None) -> Service:
        log = self.workdir / "logs" / f"{name}.log"
        handle = log.open("ab")
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        handle.close()
        return Service(name=name, process=process, log=log, port=port)

    def start_web(
        self, *, name: str = "web", port: int | None = None, workers: int = 2, **env_overrides: str
    ) -> Service:
        """gunicorn as production runs it; ``env_overrides`` for fault tests (another Redis, a proxy)."""
        port = port or self.port
        service = self._spawn(
            name,
            [
                GUNICORN,
                "--pythonpath",
                "platform,.",
                "config.wsgi",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
            env=self.env(**env_overrides),
            port=port,
        )
        if name == "web":
            self.web = service
        else:
            self.extra.append(service)
        wait_until(
            lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=90, what=f"{name} to answer", service=service
        )
        return service

    def start_worker(self, **env_overrides: str) -> Service:
        self.worker = self._spawn("worker", [PYTHON, "manage.py", "qcluster"], env=self.env(**env_overrides))
        return self.worker

    def wait_healthy(self, *, timeout: float = 120) -> dict:
        body: dict = {}

        def healthy() -> bool:
            nonlocal body
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=5)
            except httpx.HTTPError:
                return False
            body = response.json()
            return response.status_code == 200

        wait_until(healthy, timeout=timeout, what="/healthz to be ok", detail=lambda: body)
        return body

    def stop(self) -> None:
        """Stop everything this stack started (idempotent)."""
        for service in [*self.extra, self.worker, self.web]:
            if service is not None and (service.alive() or _group_has_live_members(service.pgid)):
                service.stop()
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            smtp.stop()

    def drop_database(self) -> None:
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    @classmethod
    @contextlib.contextmanager
    def running(cls, workdir: Path):
        stack = cls(workdir=workdir)
        try:
            stack.prepare()
            stack._timed("web", stack.start_web)
            stack.start_worker()
            stack._timed("worker healthy", stack.wait_healthy)
            yield stack
        finally:
            stack.stop()
            if os.environ.get("MEDBOOK_STACK_KEEP") != "1":
                with contextlib.suppress(Exception):
                    stack.drop_database()

    # -- reading invariants back ---------------------------------------------------------------

    def sql(self, query: str, *params) -> list[tuple]:
        """Read-only query on the stack's database (for invariants; tests never write here)."""
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            conn.read_only = True
            return list(conn.execute(query, params).fetchall())

    # -- clients -------------------------------------------------------------------------------

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 30), **kwargs)

    def login(self, email: str, password: str = DEMO_PASSWORD) -> Tokens:
        """Log in like an app (allauth headless, app client): the JWT access and refresh tokens."""
        with self.client() as client:
            response = client.post("/_allauth/app/v1/auth/login", json={"email": email, "password": password})
        if response.status_code != 200:
            raise AssertionError(f"login as {email} failed: {response.status_code} {response.text[:500]}")
        body = response.json()
        meta = body.get("meta", {})
        user = body.get("data", {}).get("user", {})
        return Tokens(access=meta["access_token"], refresh=meta.get("refresh_token", ""), user_id=user.get("id"))

    def bearer(self, email: str, password: str = DEMO_PASSWORD) -> httpx.Client:
        """An httpx client that sends ``Authorization: Bearer <access token>`` of ``email``."""
        tokens = self.login(email, password)
        return self.client(headers={"Authorization": f"Bearer {tokens.access}"})

    def session(self, email: str, password: str = DEMO_PASSWORD) -> httpx.Client:
        """An httpx client logged in like a browser (session cookie, CSRF token on writes)."""
        client = BrowserClient(base_url=self.url, timeout=30)
        client.get("/_allauth/browser/v1/config")  # sets the CSRF cookie
        response = client.post("/_allauth/browser/v1/auth/login", json={"email": email, "password": password})
        if response.status_code != 200:
            raise AssertionError(f"browser login as {email} failed: {response.status_code} {response.text[:500]}")
        return client


class BrowserClient(httpx.Client):
    """Keeps cookies like a browser behind TLS would: the production profile marks the session and
    CSRF cookies ``Secure``, which httpx (rightly) never sends over plain HTTP; the test stack has
    no TLS proxy, so this client sends them itself, and adds ``X-CSRFToken`` to unsafe requests.
    It is returned already used (logged in): ``with`` only closes it at the end."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __init__(self, **kwargs) -> None:
        self.jar: dict[str, str] = {}
        super().__init__(event_hooks={"request": [self._add_cookies], "response": [self._keep_cookies]}, **kwargs)

    def _add_cookies(self, request: httpx.Request) -> None:
        if self.jar:
            request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        if request.method not in {"GET", "HEAD", "OPTIONS"} and "csrftoken" in self.jar:
            request.headers["X-CSRFToken"] = self.jar["csrftoken"]

    def _keep_cookies(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            parsed = http.cookies.SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                if morsel.value and morsel["max-age"] != "0":
                    self.jar[name] = morsel.value
                else:
                    self.jar.pop(name, None)


def _migrations_hash() -> str:
    import hashlib

    digest = hashlib.sha256((REPO / "requirements.txt").read_bytes())
    for path in sorted(REPO.glob("**/migrations/*.py")):
        if ".venv" not in path.parts and "node_modules" not in path.parts:
            digest.update(str(path.relative_to(REPO)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _finish(process: subprocess.Popen, what: str, *, timeout: float) -> None:
    output, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed ({process.returncode}):\n{output.decode(errors='replace')}")


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return False
    return True


def wait_until(predicate, *, timeout: float, what: str, service: Service | None = None, detail=None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if service is not None and not service.alive():
            raise RuntimeError(f"{service.name} exited ({service.process.returncode}):\n{service.output()[-4000:]}")
        if time.monotonic() > deadline:
            extra = f": {detail()}" if detail else ""
            raise TimeoutError(f"waited {timeout} s for {what}{extra}")
        time.sleep(0.2)


def _write_rsa_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
