"""The benchmark's load, the same for Medbook and the peer: closed-loop asyncio + httpx clients (each
with one keep-alive connection), a warm-up, then a measured window bounded by time and by a count.
CPU is read from /proc (``probe``) at the edges of the measured window.

- ``book_medbook``: each client books distinct free slots with ``POST /api/v1/appointments`` and a
  patient's bearer token (JWT); a patient may hold 2 unpaid bookings, so a client takes the next
  patient's token after 2.
- ``book_peer``: each client logs in like a browser (untimed), then books distinct free slots with
  the package's own two POSTs (request-submit, then client-info), as its front-end does.
- ``get``: GET requests over a list of paths (the fallback when ``wrk`` is not installed).
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx

try:
    from . import probe
except ImportError:  # run as a script from tests/bench
    import probe  # type: ignore[no-redef]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (as wrk reports it)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def _client(base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base, timeout=30, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)
    )


async def closed_loop(
    operation: Callable[[httpx.AsyncClient, int], Awaitable[tuple[bool, str]]],
    *,
    base: str,
    clients: int,
    duration: float,
    warmup: float,
    limit: int,
    master: int,
    database: str,
    http_per_op: int = 1,
    setup: Callable[[httpx.AsyncClient, int], Awaitable[None]] | None = None,
) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    state = {"measuring": False, "stop": False, "count": 0, "ok": 0}
    pool = [_client(base) for _ in range(clients)]
    if setup is not None:
        await asyncio.gather(*(setup(client, index) for index, client in enumerate(pool)))

    async def worker(client: httpx.AsyncClient, index: int) -> None:
        while not state["stop"]:
            started = time.perf_counter()
            try:
                ok, why = await operation(client, index)
            except IndexError:  # out of slots or tokens
                state["stop"] = True
                break
            except httpx.HTTPError as error:
                ok, why = False, type(error).__name__
            elapsed = time.perf_counter() - started
            if state["measuring"] and not state["stop"]:
                state["count"] += 1
                if ok:
                    state["ok"] += 1
                    latencies.append(elapsed * 1000)
                else:
                    errors[why] = errors.get(why, 0) + 1
                if state["count"] >= limit:
                    state["stop"] = True

    tasks = [asyncio.create_task(worker(client, index)) for index, client in enumerate(pool)]
    await asyncio.sleep(warmup)
    before, rusage_before = probe.snap(master, database), resource.getrusage(resource.RUSAGE_SELF)
    state["measuring"] = True
    started = time.perf_counter()
    while not state["stop"] and time.perf_counter() - started < duration:
        await asyncio.sleep(0.02)
    state["stop"] = True
    elapsed = time.perf_counter() - started
    after, rusage_after = probe.snap(master, database), resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in pool:
        await client.aclose()
    client_cpu = (rusage_after.ru_utime + rusage_after.ru_stime) - (rusage_before.ru_utime + rusage_before.ru_stime)
    result = {
        "ops": state["count"],
        "ok": state["ok"],
        "errors": state["count"] - state["ok"],
        "error_kinds": errors,
        "duration_s": round(elapsed, 2),
        "rps": round(state["ok"] / elapsed, 2) if elapsed else 0.0,
        "http_requests": state["count"] * http_per_op,
    }
    if latencies:
        result.update(
            p50_ms=round(statistics.median(latencies), 2),
            p95_ms=round(percentile(latencies, 95), 2),
            p99_ms=round(percentile(latencies, 99), 2),
        )
    # CPU per operation (a peer booking is two HTTP requests, Medbook's one: compare per booking)
    result["cpu"] = probe.delta(before, after, requests=state["count"], client_cpu=client_cpu)
    return result


def book_medbook(
    *,
    base: str,
    tokens: list[str],
    slots: list[list[int]],
    clients: int,
    duration: float,
    warmup: float,
    limit: int,
    master: int,
    database: str,
) -> dict:
    tokens, slots = list(reversed(tokens)), list(reversed(slots))
    current: dict[int, list] = {}

    async def operation(client: httpx.AsyncClient, index: int) -> tuple[bool, str]:
        token, used = current.get(index, (None, 2))
        if used >= 2:
            token, used = tokens.pop(), 0
        current[index] = (token, used + 1)
        doctor_id, slot_id = slots.pop()
        response = await client.post(
            "/api/v1/appointments",
            json={
                "doctorId": doctor_id,
                "scheduleId": slot_id,
                "firstName": "Pat",
                "lastName": "Bench",
                "phone": "+84901234567",
                "email": "pat.bench@mail.test",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code == 201:
            return True, "ok"
        return False, f"{response.status_code}:{response.text[:60]}"

    return asyncio.run(
        closed_loop(
            operation,
            base=base,
            clients=clients,
            duration=duration,
            warmup=warmup,
            limit=limit,
            master=master,
            database=database,
        )
    )


def _end(start: str) -> str:
    hour, minute = map(int, start.split(":"))
    total = hour * 60 + minute + 30
    return f"{total // 60:02d}:{total % 60:02d}"


def book_peer(
    *,
    base: str,
    meta: dict,
    first_patient: int,
    slots: list[list],
    clients: int,
    duration: float,
    warmup: float,
    limit: int,
    master: int,
    database: str,
) -> dict:
    slots = list(reversed(slots))
    csrf: dict[int, str] = {}

    async def setup(client: httpx.AsyncClient, index: int) -> None:
        await client.get("/accounts/login/")
        response = await client.post(
            "/accounts/login/",
            data={
                "username": meta["patients"][first_patient + index],
                "password": meta["patient_password"],
                "csrfmiddlewaretoken": client.cookies.get("csrftoken"),
                "next": "/ok/",
            },
        )
        if response.status_code != 302 or "sessionid" not in client.cookies:
            raise RuntimeError(f"peer login failed: {response.status_code}")
        csrf[index] = client.cookies.get("csrftoken")  # rotated on login

    async def operation(client: httpx.AsyncClient, index: int) -> tuple[bool, str]:
        staff_id, date, start = slots.pop()
        headers = {"X-CSRFToken": csrf[index]}
        first = await client.post(
            "/appointment/request-submit/",
            headers=headers,
            data={
                "date": date,
                "start_time": start,
                "end_time": _end(start),
                "service": meta["service_id"],
                "staff_member": staff_id,
            },
        )
        if first.status_code != 302:
            return False, f"submit:{first.status_code}"
        second = await client.post(
            first.headers["location"],
            headers=headers,
            data={
                "name": "Pat Bench",
                "email": "pat.bench@mail.test",
                "phone_0": "US",
                "phone_1": "2025550123",
                "want_reminder": "",
                "address": "1 Main St",
                "additional_info": "",
                "payment_type": "full",
            },
        )
        if second.status_code == 302 and "/thank-you/" in second.headers.get("location", ""):
            return True, "ok"
        return False, f"client-info:{second.status_code}"

    return asyncio.run(
        closed_loop(
            operation,
            base=base,
            clients=clients,
            duration=duration,
            warmup=warmup,
            limit=limit,
            master=master,
            database=database,
            http_per_op=2,
            setup=setup,
        )
    )


def get(
    *,
    base: str,
    paths: list[str],
    headers: dict[str, str],
    marker: str,
    clients: int,
    duration: float,
    warmup: float,
    master: int,
    database: str,
) -> dict:
    """GET load over ``paths`` (cycled); a response counts only if 200 and containing ``marker``."""
    position = {"next": 0}

    async def operation(client: httpx.AsyncClient, index: int) -> tuple[bool, str]:
        path = paths[position["next"] % len(paths)]
        position["next"] += 1
        response = await client.get(path, headers=headers)
        if response.status_code == 200 and marker in response.text:
            return True, "ok"
        return False, str(response.status_code)

    return asyncio.run(
        closed_loop(
            operation,
            base=base,
            clients=clients,
            duration=duration,
            warmup=warmup,
            limit=10**9,
            master=master,
            database=database,
        )
    )
