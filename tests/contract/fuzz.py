"""Schemathesis over the whole /api/v1 OpenAPI document, as a patient, a doctor and a staff member.

Reusable by any transport: the in-process test (``test_schemathesis.py``) drives the WSGI app, and the
contract suite (``test_live_flow.py``) drives gunicorn on the black-box stack over HTTP with the same
code — each only needs

- ``post_json(path, body) -> (status, json)`` and ``get_json(path, token) -> (status, json)`` to log in
  and to discover real ids,
- ``call(case, headers) -> response``: how a generated case reaches the server,

and data: ``manage.py seed_demo`` (its demo accounts are ``DEMO_ACCOUNTS``; ids of real appointments,
schedules and payments are found through the API by ``discover_ids``). Configure
video (AGORA_APP_ID/AGORA_APP_CERTIFICATE) and Stripe's webhook secret on the server under test, and
switch the rate limits off (API_RATE_LIMIT_PER_IP=0, API_RATE_LIMIT_PER_USER=0): otherwise their
deliberate 503 and 429 answers are all the fuzzer sees of those operations.

What counts as a failure: a 5xx, a status the operation does not document, a content type it does not
document, or a body that breaks its documented schema. Business answers (404, 409, 422, ...) are fine:
generated data is rarely a valid booking.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

#: the roles the API is fuzzed as, with the demo account of each (password: DEMO_PASSWORD)
DEMO_PASSWORD = "medbook-demo-2026"  # noqa: S105 - the documented demo credential
DEMO_ACCOUNTS = {"patient": "patient1@example.com", "doctor": "doctor1@example.com", "staff": "staff@example.com"}
LOGIN_PATH = "/_allauth/app/v1/auth/login"
#: access tokens live 5 minutes by default: log in again after this many seconds
TOKEN_REFRESH_AFTER = 200


class Tokens:
    """Bearer tokens per role, logged in through allauth's headless API and renewed before they lapse."""

    def __init__(self, post_json: Callable[[str, dict], tuple[int, Any]], accounts: dict[str, str] = DEMO_ACCOUNTS):
        self.post_json = post_json
        self.accounts = accounts
        self._tokens: dict[str, tuple[str, float]] = {}

    def __call__(self, role: str) -> str:
        token, issued = self._tokens.get(role, ("", 0.0))
        if not token or time.monotonic() - issued > TOKEN_REFRESH_AFTER:
            status, body = self.post_json(LOGIN_PATH, {"email": self.accounts[role], "password": DEMO_PASSWORD})
            if status != 200:
                raise AssertionError(f"login as {role} failed: {status} {body}")
            token = body["meta"]["access_token"]
            self._tokens[role] = (token, time.monotonic())
        return token

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self(role)}"}


def discover_ids(get_json: Callable[[str, str], tuple[int, Any]], tokens: Tokens) -> dict[str, dict[str, list]]:
    """Real path parameters each role can reach, found through the API itself (no database access):
    ``{role: {"public_id": [...], "availability_id": [...], ...}}``."""

    def items(path: str, role: str) -> list[dict]:
        status, body = get_json(path, tokens(role))
        return body.get("items", []) if status == 200 else []

    found: dict[str, dict[str, list]] = {}
    doctors = [d["id"] for d in items("/api/v1/doctors?limit=5", "patient")]
    specialties = [s["id"] for s in items("/api/v1/specialties?limit=5", "patient")]
    services = [s["id"] for s in items("/api/v1/services?limit=5", "patient")]
    for role, listing in (
        ("patient", "/api/v1/appointments?limit=10"),
        ("doctor", "/api/v1/doctor/appointments?limit=10"),
        ("staff", "/api/v1/appointments/all?limit=10"),
    ):
        ids: dict[str, list] = {
            "public_id": [a["id"] for a in items(listing, role)],
            "doctor_id": doctors,
            "specialty_id": specialties,
            "service_id": services,
            "payment_id": [p["id"] for p in items("/api/v1/payments?limit=5", role)] if role != "doctor" else [],
            "availability_id": [s["id"] for s in items("/api/v1/doctor/schedules?limit=5", role)]
            if role == "doctor"
            else [],
            "gateway": ["sandbox", "stripe"],
        }
        found[role] = {name: values for name, values in ids.items() if values}
    return found


@dataclass
class Budget:
    """Examples per operation, role and way of generating (bounded so a run stays within minutes)."""

    positive: int = 10
    negative: int = 6
    known_ids: int = 6


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def count(self, status: int) -> None:
        self.requests += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1


def _settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same cases every run: a failure reproduces, CI stays deterministic
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing request is reported as sent
        suppress_health_check=list(HealthCheck),
    )


def fuzz_operation(
    operation,
    *,
    role: str,
    tokens: Tokens,
    call: Callable[[Any, dict[str, str]], Any],
    known: dict[str, list],
    budget: Budget,
    report: Report,
) -> None:
    """Run the checks on generated cases of one operation as one role; failures go into ``report``."""
    path_names = [p.name for p in operation.path_parameters]
    runs: list[tuple[GenerationMode, int, dict | None]] = [
        (GenerationMode.POSITIVE, budget.positive, None),
        (GenerationMode.NEGATIVE, budget.negative, None),
    ]
    if path_names and all(name in known for name in path_names):
        for index in range(budget.known_ids):
            fixed = {name: known[name][index % len(known[name])] for name in path_names}
            runs.append((GenerationMode.POSITIVE, 1, fixed))
    for mode, examples, path_parameters in runs:
        if examples <= 0:
            continue
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @_settings(examples)
        @given(case=strategy)
        def run(case):
            headers = tokens.headers(role)
            response = call(case, headers)
            report.count(response.status_code)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            run()
        except Unsatisfiable:
            continue  # nothing of that kind can be generated (e.g. no invalid value for a free-text path)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # collect and go on: one report lists every broken operation
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            report.failures.append(f"{operation.label} as {role} ({mode.value}): {detail}")


def fuzz_schema(
    schema,
    *,
    roles: Iterable[str],
    tokens: Tokens,
    call: Callable[[Any, dict[str, str]], Any],
    known: dict[str, dict[str, list]],
    budget: Budget | None = None,
) -> Report:
    budget = budget or Budget()
    report = Report()
    for result in schema.get_all_operations():
        operation = result.ok()
        for role in roles:
            fuzz_operation(
                operation, role=role, tokens=tokens, call=call, known=known.get(role, {}), budget=budget, report=report
            )
    return report
