"""Headless Debian Chromium driven by Playwright against Django's live server.

A fake camera and microphone stand in for real devices (--use-fake-device-for-media-stream) and the
permission prompt is accepted (--use-fake-ui-for-media-stream). Without /usr/bin/chromium (or
without Playwright) these tests are skipped with the reason, or fail when
``MEDBOOK_REQUIRE_STACK=1`` (CI). A failing test leaves a screenshot in
test-artifacts/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _unavailable(reason: str):
    """Skip, or fail where the browser is required (CI sets MEDBOOK_REQUIRE_STACK=1)."""
    if os.environ.get("MEDBOOK_REQUIRE_STACK") == "1":
        pytest.fail(f"{reason} (MEDBOOK_REQUIRE_STACK=1: browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright (python) is not installed")
    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are
    # ordinary synchronous code, so Django's async-safety guard is lifted for this suite only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_as(chromium, live_server, request):
    """``browser_as(user)`` → a Playwright page signed in as ``user`` (their session cookie copied
    from Django's test client). Screenshots the page into test-artifacts/ when the test fails."""
    from django.test import Client

    contexts = []
    pages = []

    def open_as(user):
        client = Client()
        client.force_login(user)
        context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.console_messages = []
        page.on("console", lambda message: page.console_messages.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: page.console_messages.append(f"pageerror: {error}"))
        pages.append(page)
        return page

    yield open_as

    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        for index, page in enumerate(pages):
            page.screenshot(path=str(ARTIFACTS / f"{name}-{index}.png"), full_page=True)
            (ARTIFACTS / f"{name}-{index}.console.txt").write_text("\n".join(page.console_messages))
    for context in contexts:
        context.close()
