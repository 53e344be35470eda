"""Which address a rate limit counts: the socket's, unless trusted proxies are configured."""

import pytest
from django.test import RequestFactory

from core.net import client_ip


@pytest.fixture
def rf():
    return RequestFactory()


def test_without_trusted_proxies_a_forwarded_header_is_ignored(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = rf.get("/", REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.7"


def test_behind_one_proxy_the_rightmost_entry_is_the_client(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # the client wrote "6.6.6.6" itself; the proxy appended the address it really saw
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(request) == "203.0.113.9"


def test_behind_two_proxies_the_second_from_the_right_is_the_client(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9, 10.0.0.3")
    assert client_ip(request) == "203.0.113.9"


def test_a_request_with_fewer_hops_than_proxies_falls_back_to_the_socket(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(request) == "10.0.0.2"


def test_garbage_in_the_header_falls_back_to_the_socket(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(request) == "10.0.0.2"


def test_allauth_login_limits_count_the_same_address(rf, settings):
    from allauth.account.adapter import get_adapter

    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert get_adapter(request).get_client_ip(request) == "203.0.113.9"
