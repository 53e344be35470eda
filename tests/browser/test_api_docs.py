"""The API's Swagger pages work in a real browser with nothing but this server: the Medbook API page
lists its operations and links the accounts page, which lists allauth's login, refresh and logout."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.outside = []
    page.errors = []
    own_host = urlparse(live_server.url).netloc

    def guard(route):
        if urlparse(route.request.url).netloc != own_host:
            page.outside.append(route.request.url)
            return route.abort()
        return route.continue_()

    page.route("**/*", guard)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def test_the_api_docs_render_from_local_files(page):
    page.goto("/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/appointments" in path for path in paths)
    assert page.locator("a[href='/api/v1/docs/accounts']").count() == 1
    assert page.outside == [] and page.errors == []


def test_the_accounts_docs_list_login_refresh_and_logout(page):
    page.goto("/api/v1/docs/accounts")
    page.wait_for_selector(".opblock-summary-path")
    paths = " ".join(page.locator(".opblock-summary-path").all_inner_texts())
    for path in ("/auth/login", "/tokens/refresh", "/auth/session"):
        assert path in paths
    assert page.outside == [] and page.errors == []
