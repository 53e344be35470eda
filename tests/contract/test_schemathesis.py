"""Schemathesis over the whole OpenAPI document, in process (the WSGI app), with a patient's, a
doctor's and a staff member's bearer token on the demo data: no 5xx, no answer outside its documented
status codes, content types and schemas. A black-box suite reuses ``tests.contract.fuzz`` against
gunicorn."""

from __future__ import annotations

import json
import time

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client, override_settings

from tests.contract.fuzz import Budget, Tokens, discover_ids, fuzz_schema

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db]


@override_settings(
    API_RATE_LIMIT_PER_IP=0,
    API_RATE_LIMIT_PER_USER=0,
    # configured, so that the video and Stripe paths run instead of answering 503 "not configured"
    AGORA_APP_ID="0123456789abcdef0123456789abcdef",
    AGORA_APP_CERTIFICATE="fedcba9876543210fedcba9876543210",
    STRIPE_WEBHOOK_SECRET="whsec_fuzzing",  # noqa: S106
)
def test_the_whole_api_keeps_its_contract_under_fuzzing():
    from cms.management.commands.seed_demo import seed_demo

    seed_demo()
    client = Client()

    def post_json(path, body):
        response = client.post(path, json.dumps(body), content_type="application/json")
        return response.status_code, response.json()

    def get_json(path, token):
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.json()

    tokens = Tokens(post_json)
    known = discover_ids(get_json, tokens)
    assert known["patient"]["public_id"] and known["doctor"]["availability_id"]

    def call(case, headers):
        # As Django's test client does: a request through the WSGI app must not close the test's
        # database connection (it holds the test's transaction; CONN_MAX_AGE would close it after a
        # minute). Disconnected before every call: renewing a token goes through the test client,
        # which connects close_old_connections again after each of its requests.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        return case.call(headers=headers)

    request_started.disconnect(close_old_connections)  # the schema itself is read through the WSGI app
    request_finished.disconnect(close_old_connections)
    started = time.process_time()
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
        report = fuzz_schema(
            schema, roles=("patient", "doctor", "staff"), tokens=tokens, call=call, known=known, budget=Budget()
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    spent = time.process_time() - started
    print(f"schemathesis: {report.requests} requests, statuses {sorted(report.statuses.items())}, {spent:.0f} s CPU")
    assert report.failures == [], "\n\n".join(report.failures)
    assert report.requests > 1000 and report.statuses.get(200, 0) + report.statuses.get(201, 0) > 100
