"""CPU counters from /proc for the benchmark: a gunicorn master and its workers, the PostgreSQL
backends serving one database, and the whole machine.

``snap()`` returns per-process CPU seconds (utime + stime, plus the master's cutime + cstime for
workers that exited); ``delta()`` subtracts two snapshots pid by pid, so a backend or worker that
appeared in between counts from zero. CPU time per request is robust on a busy machine where
req/s and latency are not: other tenants slow our requests down but do not add to their CPU time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

HZ = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cpu(fields: list[str], *, with_children: bool = False) -> float:
    # after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / HZ


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def process_tree(master: int) -> dict[int, float]:
    """CPU seconds of ``master`` (with its reaped children) and of its live children."""
    out: dict[int, float] = {}
    fields = _stat(master)
    if fields is None:
        return out
    out[master] = _cpu(fields, with_children=True)
    for pid in _all_pids():
        child = _stat(pid)
        if child is not None and child[1] == str(master):
            out[pid] = _cpu(child)
    return out


def pg_backends(database: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends connected to ``database`` (by their process title
    ``postgres: [<cluster>:] <user> <database> <client> …``)."""
    out: dict[int, float] = {}
    if not database:
        return out
    for pid in _all_pids():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parts = title.split()
        if parts[:1] != ["postgres:"]:
            continue
        if len(parts) > 1 and parts[1].endswith(":"):  # the cluster name, "postgres: 15/main: user db …"
            del parts[1]
        if len(parts) >= 3 and parts[2] == database:
            fields = _stat(pid)
            if fields is not None:
                out[pid] = _cpu(fields)
    return out


def machine_busy() -> float:
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / HZ  # minus idle and iowait


def snap(master: int, database: str = "") -> dict:
    return {
        "t": time.monotonic(),
        "server": process_tree(master),
        "db": pg_backends(database),
        "busy": machine_busy(),
    }


def _sum_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def delta(before: dict, after: dict, *, requests: int, client_cpu: float = 0.0) -> dict:
    wall = after["t"] - before["t"]
    server = _sum_delta(before["server"], after["server"])
    db = _sum_delta(before["db"], after["db"])
    others = (after["busy"] - before["busy"]) - server - db - client_cpu
    out = {
        "wall_s": round(wall, 2),
        "server_cpu_s": round(server, 3),
        "db_cpu_s": round(db, 3),
        "client_cpu_s": round(client_cpu, 3),
        "others_cores": round(others / wall, 2) if wall > 0 else None,
    }
    if requests:
        out["cpu_ms"] = round((server + db) * 1000 / requests, 3)
        out["server_cpu_ms"] = round(server * 1000 / requests, 3)
        out["db_cpu_ms"] = round(db * 1000 / requests, 3)
    return out
