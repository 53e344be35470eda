"""Seed 002 under /api/v1: specialties and services (public), payments (own or all), the profile."""

from __future__ import annotations

from decimal import Decimal

import pytest

from booking import services as svc
from booking.models import AppointmentType, Specialty
from tests.api.clients import bearer_client, send
from tests.booking.appointments.helpers import details_for
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_specialties_and_services_are_public_lists(client):
    Specialty.objects.create(name="Nhi khoa", slug="nhi-khoa")
    Specialty.objects.create(name="Da liễu", slug="da-lieu", is_active=False)
    AppointmentType.objects.create(name="Khám tại phòng", kind="initial", mode="in_person", price=Decimal("200000"))
    AppointmentType.objects.create(name="Tái khám video", kind="follow_up", mode="video")
    specialties = client.get("/api/v1/specialties").json()
    assert [s["name"] for s in specialties["items"]] == ["Nhi khoa"] and specialties["count"] == 1
    assert set(specialties) == {"items", "count", "limit", "offset"}
    services = client.get("/api/v1/services").json()
    assert [(s["name"], s["price"], s["mode"]) for s in services["items"]] == [
        ("Khám tại phòng", "200000.00", "in_person"),
        ("Tái khám video", None, "video"),
    ]
    assert [s["code"] for s in client.get("/api/v1/services", {"mode": "video"}).json()["items"]] == ["follow_up"]
    assert client.get("/api/v1/services", {"code": "initial"}).json()["count"] == 1
    assert client.get("/api/v1/services", {"mode": "teleport"}).status_code == 422
    one = services["items"][0]["id"]
    assert client.get(f"/api/v1/services/{one}").json()["durationMinutes"] == 30
    assert client.get("/api/v1/services/999999").status_code == 404


@pytest.fixture
def paid(patient_dao, patient_lan, slots):
    cashier = make_user("cashier@clinic.test", "staff")
    mine = svc.appointment_book(slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    theirs = svc.appointment_book(
        slot=slots[1], patient=patient_lan, actor=patient_lan, details=details_for(patient_lan)
    )
    svc.payment_mark_cash_paid(appointment=mine, actor=cashier)
    svc.payment_mark_cash_paid(appointment=theirs, actor=cashier)
    return {"mine": mine.payments.get(), "theirs": theirs.payments.get(), "cashier": cashier}


def test_patients_see_their_own_payments_and_staff_see_all(patient_dao, paid, doctor_binh):
    own = bearer_client(patient_dao).get("/api/v1/payments").json()
    assert [p["id"] for p in own["items"]] == [paid["mine"].pk] and own["count"] == 1
    item = own["items"][0]
    assert (item["status"], item["gateway"], item["amount"]) == ("succeeded", "cash", "500000.00")
    assert item["appointmentId"] == str(paid["mine"].appointment.public_id)
    patient = bearer_client(patient_dao)
    assert patient.get(f"/api/v1/payments/{paid['mine'].pk}").status_code == 200
    assert patient.get(f"/api/v1/payments/{paid['theirs'].pk}").status_code == 404  # not 403: no hint
    staff = bearer_client(paid["cashier"])
    assert staff.get("/api/v1/payments").json()["count"] == 2
    assert staff.get("/api/v1/payments", {"status": "refunded"}).json()["count"] == 0
    assert bearer_client(doctor_binh.user).get("/api/v1/payments").status_code == 403


def test_payments_filter_by_appointment_and_dates(paid):
    staff = bearer_client(paid["cashier"])
    appointment = paid["theirs"].appointment
    assert [
        p["id"] for p in staff.get("/api/v1/payments", {"appointment_id": str(appointment.public_id)}).json()["items"]
    ] == [paid["theirs"].pk]
    assert staff.get("/api/v1/payments", {"start_date": "2000-01-01", "end_date": "2000-01-31"}).json()["count"] == 0


def test_the_profile_reads_and_changes(patient_dao):
    app = bearer_client(patient_dao)
    profile = app.get("/api/v1/profile").json()
    assert (profile["email"], profile["role"], profile["phone"]) == (patient_dao.email, "patient", "+84 90 000 0001")
    response = send(
        app,
        "PUT",
        "/api/v1/profile",
        {
            "lastName": "Trần",
            "phone": "+84 91 222 3333",
            "dateOfBirth": "1990-05-04",
            "timeZone": "Europe/Paris",
            "language": "vi",
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["lastName"], body["phone"], body["dateOfBirth"], body["timeZone"], body["language"]) == (
        "Trần",
        "+84 91 222 3333",
        "1990-05-04",
        "Europe/Paris",
        "vi",
    )
    assert body["firstName"] == "Đào"  # not sent: unchanged
    patient_dao.refresh_from_db()
    assert patient_dao.patient_profile.phone == "+84 91 222 3333"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timeZone": "Mars/Olympus"}, "timeZone"),
        ({"language": "fr"}, "language"),
        ({"dateOfBirth": "2999-01-01"}, "dateOfBirth"),
    ],
)
def test_the_profile_refuses_unknown_values(patient_dao, body, field):
    response = send(bearer_client(patient_dao), "PATCH", "/api/v1/profile", body)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["loc"][-1] == field


def test_clinic_people_have_no_patient_details(doctor_binh):
    app = bearer_client(doctor_binh.user)
    assert app.get("/api/v1/profile").json()["phone"] is None
    assert send(app, "PUT", "/api/v1/profile", {"firstName": "Bình"}).status_code == 200
    response = send(app, "PUT", "/api/v1/profile", {"phone": "+84 90"})
    assert response.status_code == 422 and response.json()["error"]["details"]["fields"] == ["phone"]
