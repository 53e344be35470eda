"""pytest fixtures for black-box suites (this one and the API contract suite): ``stack``.

They are imported into ``tests/conftest.py`` so that any test directory can use them; a test that
uses ``stack`` is marked ``blackbox`` automatically (``make test`` leaves those out; ``make
blackbox`` runs them).
"""

from __future__ import annotations

import atexit
import logging

import pytest

from tests.blackbox.stack import Stack, require_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The production-profile stack (gunicorn, qcluster, PostgreSQL, Redis, SMTP), one per session."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
    candidate = Stack(workdir=tmp_path_factory.mktemp("stack"))
    missing = candidate.unreachable()
    if missing:
        message = f"the black-box stack needs {', '.join(missing)}"
        if require_stack():
            pytest.fail(f"{message} (MEDBOOK_REQUIRE_STACK=1)", pytrace=False)
        pytest.skip(message)
    with Stack.running(candidate.workdir) as running:
        atexit.register(running.stop)  # even if the session is interrupted
        print(f"\nblack-box stack at {running.url}, set up in {running.timings} s, logs in {running.workdir}/logs")
        yield running


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    """Each black-box test starts with the API's rate-limit budget of a fresh client."""
    if "stack" in request.fixturenames:
        request.getfixturevalue("stack").reset_rate_limits()
    yield


def mark_blackbox(items) -> None:
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.blackbox)
