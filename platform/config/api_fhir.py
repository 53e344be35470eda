"""Assembles /api/fhir/: the FHIR R4 read API of the clinical record (workflows.clinical.fhir), bearer
tokens only (the same allauth headless tokens as /api/v1/), the same per-user rate limit."""

import json

from django.http import HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from core.api import BearerAuth
from core.ratelimit import UserRateThrottle
from workflows.clinical.fhir import FHIR_JSON
from workflows.clinical.fhir import router as fhir_router

fhir_api = NinjaAPI(
    title="Medbook FHIR R4",
    version="4.0.1",
    description="FHIR R4 read API: Patient, Practitioner, Encounter, Condition, MedicationRequest, "
    "search by patient and date, Patient/{id}/$everything. Authorization: Bearer <access token>.",
    urls_namespace="fhir",
    # the OpenAPI document stays at /api/fhir/openapi.json; no HTML docs page (its scripts would need
    # their own Content-Security-Policy relaxation)
    docs_url=None,
    auth=[BearerAuth()],
    throttle=[UserRateThrottle()],
)
fhir_api.add_router("", fhir_router)


@fhir_api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "login", "diagnostics": "A bearer access token is required."}],
    }
    return HttpResponse(json.dumps(outcome), status=401, content_type=FHIR_JSON, headers={"WWW-Authenticate": "Bearer"})


__all__ = ["fhir_api"]
