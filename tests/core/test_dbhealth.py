"""The per-request health check of a persistent connection (``core.dbhealth``): skipped for a connection
that served a request without an error within ``DB_HEALTH_CHECK_IDLE_SECONDS``, done as Django does
otherwise (after an idle spell, after an error, or with the setting at 0)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections

from core import dbhealth

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checked_connection(db):
    """The real connection, set up as a persistent PostgreSQL one with health checks (restored after)."""
    wrapper = connections["default"]
    wrapper.ensure_connection()
    saved = {name: getattr(wrapper, name) for name in ("health_check_enabled", "errors_occurred", "health_check_done")}
    wrapper.health_check_enabled, wrapper.errors_occurred, wrapper.health_check_done = True, False, False
    wrapper.medbook_healthy_at = None
    yield wrapper
    for name, value in saved.items():
        setattr(wrapper, name, value)
    wrapper.medbook_healthy_at = None


def start_request() -> bool:
    """What the next request does about the check: True when it will ping first."""
    wrapper = connections["default"]
    wrapper.health_check_done = False  # Django's close_old_connections asks for one
    dbhealth.skip_fresh_checks()
    return not wrapper.health_check_done


def test_a_connection_healthy_a_moment_ago_is_not_pinged(checked_connection, settings):
    settings.DB_HEALTH_CHECK_IDLE_SECONDS = 5
    assert start_request()  # never seen healthy: pinged
    dbhealth.note_healthy()
    assert not start_request()
    checked_connection.medbook_healthy_at -= 6  # idle longer than the limit
    assert start_request()


def test_an_error_or_the_setting_at_zero_keeps_the_ping(checked_connection, settings):
    settings.DB_HEALTH_CHECK_IDLE_SECONDS = 5
    checked_connection.errors_occurred = True
    dbhealth.note_healthy()
    assert checked_connection.medbook_healthy_at is None and start_request()
    checked_connection.errors_occurred = False
    dbhealth.note_healthy()
    settings.DB_HEALTH_CHECK_IDLE_SECONDS = 0
    assert start_request()


def test_the_receivers_run_after_djangos_own_in_a_server_process():
    """In a process as a server starts it (the test client reorders Django's receiver), ours come
    after ``close_old_connections``, which asks for the check they may skip."""
    script = (
        "import django, weakref; django.setup()\n"
        "from django.core.signals import request_started, request_finished\n"
        "from django.db import close_old_connections\n"
        "from core import dbhealth\n"
        "for signal, ours in ((request_started, dbhealth.skip_fresh_checks), (request_finished, dbhealth.note_healthy)):\n"
        "    live = [r() if isinstance(r, weakref.ref) else r for _k, r, *_ in signal.receivers]\n"
        "    assert live.index(close_old_connections) < live.index(ours), live\n"
        "print('ordered')\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "ordered", done.stderr[-2000:]
