"""Negative control for the fuzzing harness: against a tiny app that answers a 500 and a body outside
its schema, ``tests.contract.fuzz`` must report both (so a green run of the real API means something)."""

from __future__ import annotations

import json

import pytest
import schemathesis

from tests.contract.fuzz import Budget, Report, fuzz_operation

pytestmark = pytest.mark.schemathesis

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "broken", "version": "1"},
    "paths": {
        "/boom": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/shape": {
            "get": {
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id"],
                                    "properties": {"id": {"type": "integer"}},
                                }
                            }
                        },
                    }
                }
            }
        },
        "/fine": {
            "get": {
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}
                }
            }
        },
    },
}


def broken_app(environ, start_response):
    path = environ["PATH_INFO"]
    status = "500 Internal Server Error" if path == "/boom" else "200 OK"
    body = {"/shape": {"id": "not a number"}}.get(path, {})
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


def test_the_harness_reports_server_errors_and_broken_answers():
    schema = schemathesis.openapi.from_dict(SPEC)
    schema.app = broken_app
    report = Report()

    def no_tokens(role):  # the tiny app needs no login
        return {}

    no_tokens.headers = no_tokens
    for result in schema.get_all_operations():
        operation = result.ok()
        fuzz_operation(
            operation,
            role="patient",
            tokens=no_tokens,
            call=lambda case, headers: case.call(headers=headers, app=broken_app),
            known={},
            budget=Budget(positive=2, negative=0, known_ids=0),
            report=report,
        )
    failed = {failure.split(" as ")[0] for failure in report.failures}
    assert failed == {"GET /boom", "GET /shape"}
