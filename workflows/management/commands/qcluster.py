"""``manage.py qcluster``: django-q2's worker with a bounded, clean stop and crash recovery.

It shadows django-q2's command of the same name (``workflows`` comes before ``django_q`` in
``INSTALLED_APPS``) and adds three things:

- **A clean stop on SIGTERM to the process group** (systemd, ``make run``, Ctrl-C). django-q2's
  sentinel process dies on SIGTERM, possibly while the parent is waiting on a shared
  ``multiprocessing.Event``, and the parent then hangs in "stopping" until SIGKILL. Here the
  sentinel only notes the signal (its workers still die at once, as before, and their tasks are
  recovered below); the parent asks it to stop and waits at most ``STOP_GRACE_SECONDS``, then kills
  whatever is left. The exit code is 0 after a requested stop, 1 if the sentinel died by itself.
- **Start time for /healthz**: the start is recorded before the cluster runs, so a heartbeat from
  a previous run no longer counts (``core.health.check_worker``); a heartbeat is queued at once.
- **Recovery without waiting for the sweep**: when the cluster starts and whenever a worker process
  dies, ``workflows.tasks.recover_outbox`` is queued: messages whose enqueue was lost with a dead
  worker's prefetched tasks, or whose delivering process is gone, are delivered again right away.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from pathlib import Path

from django.conf import settings
from django_q import cluster as q_cluster
from django_q.management.commands.qcluster import Command as DjangoQCommand

logger = logging.getLogger("workflows.worker")

STOP_GRACE_SECONDS = 8.0


def _enqueue(func: str) -> None:
    """Queue ``func``; a broker that is down is logged, not fatal (the schedules catch up)."""
    from django_q.tasks import async_task

    try:
        async_task(func, task_name=func.rsplit(".", 1)[-1])
    except Exception as exc:
        logger.warning("Could not queue %s: %s: %s", func, type(exc).__name__, exc)


class Sentinel(q_cluster.Sentinel):
    """django-q2's sentinel, surviving SIGTERM so that its parent can always stop it."""

    def __init__(self, stop_event, start_event, cluster_id, broker=None, timeout=None, start=True):
        self.term_received = False
        super().__init__(stop_event, start_event, cluster_id, broker, timeout, start=False)
        signal.signal(signal.SIGTERM, self._note_term)
        if start:
            self.start()

    def _note_term(self, signum, frame) -> None:
        # Touch nothing shared here: the parent sets the stop event. Only stop replacing workers
        # that the same signal is killing right now.
        self.term_received = True

    def spawn_process(self, target, *args):
        # Children keep the default SIGTERM: django-q2 terminates a worker that ran over its timeout.
        previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            return super().spawn_process(target, *args)
        finally:
            signal.signal(signal.SIGTERM, previous)

    def reincarnate(self, process):
        stopping = self.term_received or self.stop_event.is_set()
        if stopping:
            if process in self.pool:
                self.pool.remove(process)
            return
        died = process in self.pool and int(process.timer.value) != -2  # -2: recycled on purpose
        super().reincarnate(process)
        if died:
            _enqueue("workflows.tasks.recover_outbox")


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            found.append(int(entry.parent.name))
    return found


class Command(DjangoQCommand):
    help = "Starts the background worker (django-q2 cluster) with a clean stop on SIGTERM."

    def handle(self, *args, **options):
        from core.health import record_worker_start

        settings.SECRET_KEY  # noqa: B018 - django-q2 signs tasks with it: fail early without it
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]

        q_cluster.Sentinel = Sentinel  # Cluster.start() forks the sentinel from this name
        record_worker_start()
        cluster = q_cluster.Cluster()
        stop_requested = threading.Event()

        def request_stop(signum, frame):
            stop_requested.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

        cluster.start()
        _enqueue("workflows.tasks.heartbeat")
        _enqueue("workflows.tasks.recover_outbox")
        if options.get("run_once"):
            stop_requested.set()
        while not stop_requested.wait(0.5):
            if not cluster.sentinel.is_alive():
                logger.error("The worker's sentinel process died (exit code %s)", cluster.sentinel.exitcode)
                raise SystemExit(1)
        self._stop(cluster)

    def _stop(self, cluster) -> None:
        sentinel = cluster.sentinel
        logger.info("Stopping the worker (at most %s s)", STOP_GRACE_SECONDS)
        if sentinel.is_alive():
            # Event.set() waits for the sentinel to wake; never let that block the stop.
            setter = threading.Thread(target=cluster.stop_event.set, daemon=True)
            setter.start()
            setter.join(2)
            sentinel.join(STOP_GRACE_SECONDS)
        if sentinel.is_alive():
            left = _children(sentinel.pid)
            logger.error("The worker did not stop in %s s: killing %s", STOP_GRACE_SECONDS, [sentinel.pid, *left])
            for pid in [*left, sentinel.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            sentinel.join(2)
        logger.info("The worker has stopped")
