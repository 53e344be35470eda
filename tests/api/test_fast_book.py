"""The booking's fast lane (issue 19): ``POST /api/v1/appointments`` with a bearer token is answered at
the API edge (``API_FAST_WRITES``) for a patient booking for themself; it answers what the regular
route answers (body, status, headers, errors in the caller's language), counts the per-user limit once,
and leaves everything else to the route before changing anything."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from accounts.bearer import bearer_user
from booking import services as svc
from booking.api.appointments import fast_book
from booking.models import Appointment, AppointmentStatus, Slot, SlotStatus
from core.ratelimit import window_seconds
from tests.api.clients import bearer_client, bearer_token
from tests.booking.appointments.helpers import details_for
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PATH = "/api/v1/appointments"
ROUTE_ONLY = {"API_FAST_WRITES": {}}
#: answer fields that differ between two bookings of different slots at different times
VOLATILE = {
    "id",
    "number",
    "scheduleId",
    "start",
    "end",
    "startLocal",
    "appointmentDate",
    "startTime",
    "endTime",
    "holdExpiresAt",
    "freeChangeUntil",
    "createdAt",
    "updatedAt",
}
HEADERS = (
    "Content-Type",
    "Content-Language",
    "Vary",
    "X-Frame-Options",
    "Content-Security-Policy",
    "Permissions-Policy",
    "Referrer-Policy",
    "X-Content-Type-Options",
    "Cross-Origin-Opener-Policy",
    "Cache-Control",
)

answered: list = []


def spy(request):
    """``fast_book``, noting whether it answered (the table points here in these tests)."""
    response = fast_book(request)
    answered.append(response is not None)
    return response


SPIED = {"API_FAST_WRITES": {r"^/api/v1/appointments$": "tests.api.test_fast_book.spy"}}


@pytest.fixture(autouse=True)
def _spied():
    answered.clear()
    with override_settings(**SPIED):
        yield


def body_for(slot, **extra) -> dict:
    return {"doctorId": slot.doctor_id, "scheduleId": slot.pk, **extra}


def post(client, body, **headers):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(PATH, data=data, content_type="application/json", headers=headers)


def test_the_fast_lane_answers_what_the_route_answers(patient_dao, slots):
    client = bearer_client(patient_dao)
    fast = post(client, body_for(slots[0]), **{"Accept-Language": "vi"})
    assert answered == [True]
    with override_settings(**ROUTE_ONLY):
        regular = post(client, body_for(slots[1]), **{"Accept-Language": "vi"})
    assert answered == [True]  # the route: the handler was not asked
    assert fast.status_code == regular.status_code == 201, (fast.content, regular.content)
    for header in HEADERS:
        assert fast.get(header) == regular.get(header), header
    assert fast["Content-Language"] == "vi" and "Accept-Language" in fast["Vary"]
    assert int(fast["Content-Length"]) == len(fast.content)
    one, other = fast.json(), regular.json()
    assert list(one) == list(other)  # the same fields in the same order
    assert {k: v for k, v in one.items() if k not in VOLATILE} == {k: v for k, v in other.items() if k not in VOLATILE}
    assert one["statusLabel"] == other["statusLabel"] != "Pending payment"  # in Vietnamese
    for key in VOLATILE:
        assert type(one[key]) is type(other[key]), key
    made = Appointment.objects.get(public_id=one["id"])
    assert made.patient_id == patient_dao.pk and made.booked_by_id is None
    assert made.status == AppointmentStatus.PENDING_PAYMENT and made.slot_id == slots[0].pk
    assert Slot.objects.get(pk=slots[0].pk).status == SlotStatus.HELD
    # the audit entry and the patient's message, as the route writes them
    from core.models import AuditLog, OutboxMessage

    for appointment in Appointment.objects.all():
        assert AuditLog.objects.filter(action="booking.appointment.booked", object_id=str(appointment.pk)).count() == 1
        assert OutboxMessage.objects.filter(kind="appointment.held", object_id=str(appointment.pk)).count() == 1


def test_refusals_have_the_routes_shape_and_language(patient_dao, patient_lan, slots):
    lan = bearer_client(patient_lan)
    assert post(lan, body_for(slots[0], phone="0901234567")).status_code == 201
    client = bearer_client(patient_dao)
    fast = post(client, body_for(slots[0]), **{"Accept-Language": "vi"})
    with override_settings(**ROUTE_ONLY):
        regular = post(client, body_for(slots[0]), **{"Accept-Language": "vi"})
    assert answered == [True, True]
    assert fast.status_code == regular.status_code == 409
    assert fast.json() == regular.json() and fast.json()["error"]["code"] == "slot_taken"
    assert fast.json()["error"]["details"]["alternatives"]
    for header in HEADERS:
        assert fast.get(header) == regular.get(header), header
    assert fast["Content-Language"] == "vi"
    # an invalid detail: the service's 422, named with the API's field names
    fast = post(client, body_for(slots[1], phone="12"))
    with override_settings(**ROUTE_ONLY):
        regular = post(client, body_for(slots[1], phone="12"))
    assert fast.status_code == regular.status_code == 422 and fast.json() == regular.json()
    assert fast.json()["error"]["details"]["fields"] == ["phone"]
    # a slot of another doctor, or none: 404 both ways
    gone = post(client, {"doctorId": slots[1].doctor_id, "scheduleId": slots[-1].pk + 1000})
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    "case",
    [
        "idempotency_key",
        "visit_type",
        "bad_json",
        "invalid_body",
        "form_body",
        "too_large",
        "no_token_session",
        "staff",
    ],
)
def test_what_the_fast_lane_does_not_handle_takes_the_route(case, patient_dao, slots, staff_binh):
    client = bearer_client(patient_dao)
    body, headers, expected = body_for(slots[0]), {}, 201
    if case == "idempotency_key":
        headers = {"Idempotency-Key": "abc-1"}
    elif case == "visit_type":
        body["appointmentTypeId"] = 999_999
        expected = 404
    elif case == "bad_json":
        body, expected = "{not json", None
    elif case == "invalid_body":
        body, expected = {"doctorId": "x", "scheduleId": slots[0].pk}, 422
    elif case == "form_body":
        response = client.post(PATH, data=body_for(slots[0]))  # multipart: the route reads no JSON from it
        assert answered == [False] and response.status_code in {400, 422}
        assert response.json()["error"]["code"] in {"bad_request", "validation_error", "http_error"}
        return
    elif case == "too_large":
        with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=20):
            response = post(client, body_for(slots[0], reason="x" * 50))
        assert answered == [False] and response.status_code == 413
        assert response.json()["error"]["code"] == "request_too_large"
        return
    elif case == "no_token_session":
        from django.contrib.sessions.models import Session

        Session.objects.all().delete()
        expected = 401
    elif case == "staff":
        client = bearer_client(staff_binh)  # staff book for a patient with patientId: the route
        body["patientId"] = patient_dao.pk
    response = post(client, body, **headers)
    assert answered == [False], response.content
    if expected is None:  # what the route says to unreadable JSON
        assert response.status_code in {400, 422} and response.json()["error"]["code"]
    else:
        assert response.status_code == expected, response.content
    assert "application/json" in response["Content-Type"]
    if case == "idempotency_key":
        again = post(client, body, **headers)
        assert again.status_code == 201 and again.json()["id"] == response.json()["id"]


def test_a_session_cookie_takes_the_route(patient_dao, slots):
    client = bearer_client(patient_dao)
    client.cookies["sessionid"] = "something"
    assert post(client, body_for(slots[0])).status_code == 201
    assert answered == []


def test_the_per_user_limit_counts_each_request_once(patient_dao, slots):
    client = bearer_client(patient_dao)

    def counted() -> int:
        index = int(timezone.now().timestamp() // window_seconds())
        return cache.get(f"ratelimit:user:{patient_dao.pk}:{window_seconds()}:{index}") or 0

    with override_settings(API_RATE_LIMIT_PER_USER=3):
        cache.clear()
        assert post(client, body_for(slots[0])).status_code == 201  # the fast lane
        assert counted() == 1
        response = post(client, body_for(slots[1]), **{"Idempotency-Key": "k-1"})  # the route
        assert response.status_code == 201 and counted() == 2
        assert post(client, body_for(slots[2])).status_code == 409  # hold limit (2): answered here
        assert counted() == 3
        refused = post(client, body_for(slots[3]))
        assert refused.status_code == 429 and refused["Retry-After"]
        assert refused.json()["error"]["code"] == "rate_limited"
        assert counted() == 4  # counted once, though the fast lane left the answer to the route
    assert answered == [True, False, True, False]


def test_a_double_submit_returns_the_same_hold(patient_dao, slots):
    client = bearer_client(patient_dao)
    first, again = post(client, body_for(slots[0])), post(client, body_for(slots[0]))
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and Appointment.objects.count() == 1


def test_a_lapsed_holder_is_retired_through_the_fast_lane(patient_dao, patient_lan, slots):
    held = svc.appointment_book(slot=slots[0], patient=patient_lan, actor=patient_lan, details=details_for(patient_lan))
    lapsed = timezone.now() - timedelta(minutes=1)
    Appointment.objects.filter(pk=held.pk).update(hold_expires_at=lapsed)
    Slot.objects.filter(pk=slots[0].pk).update(hold_expires_at=lapsed)
    response = post(bearer_client(patient_dao), body_for(slots[0]))
    assert response.status_code == 201 and answered == [True]
    held.refresh_from_db()
    assert held.status == AppointmentStatus.EXPIRED


# --- the token check in one query (accounts.bearer) ------------------------------------------------


def test_bearer_user_accepts_a_good_token_with_the_profile_loaded(patient_dao, django_assert_num_queries):
    header = f"Bearer {bearer_token(patient_dao)}"
    phone = get_user_model().objects.get(pk=patient_dao.pk).patient_profile.phone
    with django_assert_num_queries(1):
        identity = bearer_user(header)
        assert identity.user.pk == patient_dao.pk and identity.user.is_active
        assert identity.user.patient_profile.phone == phone != ""
    assert bearer_user(header.replace("Bearer", "Token")) is None
    assert bearer_user("Bearer not-a-jwt") is None


def test_bearer_user_never_accepts_what_allauth_refuses(patient_dao):
    header = f"Bearer {bearer_token(patient_dao)}"
    user = get_user_model().objects.get(pk=patient_dao.pk)
    user.set_password("another-password-42")  # the session's auth hash no longer matches
    user.save()
    assert bearer_user(header) is None
    response = Client().get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    header = f"Bearer {bearer_token(patient_dao, password='another-password-42')}"
    assert bearer_user(header) is not None
    get_user_model().objects.filter(pk=patient_dao.pk).update(is_active=False)
    assert bearer_user(header) is None


def test_bearer_user_leaves_mfa_to_the_guard(staff_binh, slots):
    from tests.accounts.test_mfa import activate_totp

    header = f"Bearer {bearer_token(staff_binh)}"
    assert bearer_user(header) is not None
    activate_totp(staff_binh)  # this token's session never passed it
    assert bearer_user(header) is None
    response = Client().get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.json()["error"]["code"] == "mfa_required"


def test_a_token_of_an_ended_session_cannot_book(patient_dao, slots):
    client = bearer_client(patient_dao)
    from django.contrib.sessions.models import Session

    Session.objects.all().delete()
    response = post(client, body_for(slots[0]))
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
    assert not Appointment.objects.exists()


def test_make_user_patients_book_through_the_fast_lane(slots):
    patient = make_user("new.patient@example.test", "patient", first_name="Mai", last_name="Lê")
    response = post(bearer_client(patient), body_for(slots[0], phone="0901234567", email="mai@example.test"))
    assert response.status_code == 201, response.content
    assert answered == [True] and response.json()["phone"] == "+84901234567"
