"""The back office over /api/v1 (seed 002): statistics per role, CSV/XLSX exports scoped like the admin,
and patients listed and registered by the front desk."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest

from accounts.models import User
from booking.models import Payment, Refund
from tests.api.clients import bearer_client
from tests.factories import make_user, publish_slots
from tests.workflows.clinic.conftest import appointment

pytestmark = pytest.mark.django_db

MARCH = {"start_date": "2025-03-01", "end_date": "2025-03-31"}


@pytest.fixture
def staff(db):
    return make_user("front.desk@clinic.test", "staff")


@pytest.fixture
def visits(dr_an, dr_bao, patient_dao, patient_lan):
    slots = publish_slots(dr_an, start=datetime(2025, 3, 3, 2, tzinfo=UTC), count=4)
    done = appointment(dr_an, patient_dao, status="completed", slot=slots[0], reason="Đau đầu kéo dài")
    missed = appointment(dr_an, patient_lan, status="no_show", slot=slots[1])
    appointment(dr_an, patient_lan, status="cancelled", starts_at=datetime(2025, 3, 20, 2, tzinfo=UTC))
    in_person = appointment(
        dr_bao, patient_lan, status="completed", mode="in_person", starts_at=datetime(2025, 3, 5, 2, tzinfo=UTC)
    )
    appointment(dr_bao, patient_lan, status="completed", starts_at=datetime(2025, 4, 2, 2, tzinfo=UTC))  # April
    paid = Payment.objects.create(
        appointment=done,
        gateway="cash",
        amount=Decimal("500000"),
        currency="VND",
        status="succeeded",
        paid_at=datetime(2025, 3, 1, 2, tzinfo=UTC),
    )
    Payment.objects.filter(pk=paid.pk).update(created_at=datetime(2025, 3, 1, 2, tzinfo=UTC))
    other = Payment.objects.create(
        appointment=in_person,
        gateway="sandbox",
        amount=Decimal("300000"),
        currency="VND",
        status="succeeded",
        paid_at=datetime(2025, 3, 4, 2, tzinfo=UTC),
    )
    Refund.objects.create(payment=other, amount=Decimal("100000"), reason="late")
    Refund.objects.filter(payment=other).update(created_at=datetime(2025, 3, 6, 2, tzinfo=UTC))
    return {"done": done, "missed": missed, "in_person": in_person}


# --- statistics -----------------------------------------------------------------------------------


def test_admins_read_revenue_by_month_service_and_doctor(admin_an, visits, dr_an, dr_bao):
    body = bearer_client(admin_an).get("/api/v1/stats/payments", MARCH).json()
    assert (body["startDate"], body["endDate"], body["timeZone"]) == ("2025-03-01", "2025-03-31", "Asia/Ho_Chi_Minh")
    assert body["total"] == [{"currency": "VND", "amount": "700000.00"}]
    assert body["received"] == [{"currency": "VND", "amount": "800000.00"}]
    assert body["refunded"] == [{"currency": "VND", "amount": "100000.00"}]
    assert body["byMonth"] == [{"month": "2025-03", "currency": "VND", "amount": "700000.00"}]
    assert {d["doctorId"]: d["amount"] for d in body["byDoctor"]} == {dr_an.pk: "500000.00", dr_bao.pk: "200000.00"}
    assert {(p["gateway"], p["count"]) for p in body["payments"]} >= {("cash", 1)}


@pytest.mark.parametrize("role", ["staff", "doctor", "patient"])
def test_revenue_is_for_clinic_admins_only(personas, role):
    assert bearer_client(personas[role]).get("/api/v1/stats/payments").status_code == 403


def test_per_doctor_statistics(admin_an, visits, dr_an, dr_bao):
    body = bearer_client(admin_an).get("/api/v1/stats/doctors", MARCH).json()
    rows = {row["doctorId"]: row for row in body["doctors"]}
    an = rows[dr_an.pk]
    assert (an["appointments"], an["completed"], an["noShow"], an["noShowRate"]) == (3, 1, 1, 0.5)
    assert an["byStatus"]["cancelled"] == 1
    assert (an["publishedMinutes"], an["bookedMinutes"], an["utilisation"]) == (120, 60, 0.5)
    assert an["revenue"] == [{"currency": "VND", "amount": "500000.00"}]
    assert rows[dr_bao.pk]["appointments"] == 1  # April is outside


def test_a_doctor_reads_only_their_own_statistics_without_money(visits, dr_an, dr_bao):
    doctor = bearer_client(dr_an.user)
    body = doctor.get("/api/v1/stats/doctors", MARCH).json()
    assert [row["doctorId"] for row in body["doctors"]] == [dr_an.pk]
    assert body["doctors"][0]["revenue"] is None
    assert doctor.get(f"/api/v1/doctors/{dr_an.pk}/statistics", MARCH).json()["completed"] == 1
    assert doctor.get(f"/api/v1/doctors/{dr_bao.pk}/statistics", MARCH).status_code == 404


def test_a_doctor_without_visits_gets_zeros(admin_an, dr_bao):
    body = bearer_client(admin_an).get(f"/api/v1/doctors/{dr_bao.pk}/statistics", MARCH).json()
    assert (body["appointments"], body["noShowRate"], body["utilisation"]) == (0, None, None)


def test_video_statistics(admin_an, visits, dr_an):
    admin = bearer_client(admin_an)
    body = admin.get("/api/v1/stats/video", MARCH).json()
    # video: an's completed + no-show + cancelled (the in-person visit is not counted)
    assert (body["visits"], body["completed"], body["noShow"], body["cancelled"]) == (2, 1, 1, 1)
    assert (body["completionRate"], body["totalMinutes"], body["averageMinutes"]) == (0.5, 30, 30.0)
    mine = bearer_client(dr_an.user).get("/api/v1/stats/video", MARCH).json()
    assert mine["doctorId"] == dr_an.pk and mine["visits"] == 2
    assert bearer_client(make_user("s@clinic.test", "staff")).get("/api/v1/stats/video").status_code == 403


def test_statistics_default_to_the_last_30_days(admin_an):
    body = bearer_client(admin_an).get("/api/v1/stats/video").json()
    first = datetime.fromisoformat(body["startDate"]).date()
    last = datetime.fromisoformat(body["endDate"]).date()
    assert (last - first) == timedelta(days=29)


# --- exports --------------------------------------------------------------------------------------


def read(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response["Content-Type"].startswith("text/csv"):
        return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "excel"])
def test_admins_export_appointments_in_a_date_range(admin_an, visits, fmt):
    response = bearer_client(admin_an).get("/api/v1/exports/appointments", {**MARCH, "format": fmt})
    assert response.streaming  # streamed, not built in memory first
    expected_type = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats"
    assert response["Content-Type"].startswith(expected_type)
    assert "attachment" in response["Content-Disposition"]
    rows = read(response)
    assert len(rows) == 4  # March only
    done = next(r for r in rows if int(r["id"]) == visits["done"].pk)
    assert done["reason"] == "Đau đầu kéo dài" and done["starts_at"] == "2025-03-03 09:00"


def test_a_workbook_keeps_numbers_and_flags_as_numbers_and_flags(admin_an, visits):
    """As the admin's XLSX export does: a spreadsheet can sum the prices (they were text, "300000.00")."""
    rows = read(bearer_client(admin_an).get("/api/v1/exports/appointments", {**MARCH, "format": "xlsx"}))
    done = next(r for r in rows if r["id"] == visits["done"].pk)
    assert isinstance(done["price"], int | float) and done["price"] == float(visits["done"].price)
    assert isinstance(done["discount"], int | float) and done["is_follow_up_suggestion"] is False
    assert done["starts_at"] == "2025-03-03 09:00"  # local wall-clock time, as text


def test_staff_export_appointments_without_the_reason_for_the_visit(staff, visits):
    rows = read(bearer_client(staff).get("/api/v1/exports/appointments", {**MARCH, "format": "csv"}))
    assert len(rows) == 4 and "reason" not in rows[0]


def test_a_doctor_exports_only_their_own(visits, dr_bao):
    rows = read(bearer_client(dr_bao.user).get("/api/v1/exports/appointments", {"format": "csv"}))
    assert {int(r["id"]) for r in rows} == {visits["in_person"].pk, *[a.pk for a in dr_bao.appointments.all()]}
    patients = read(bearer_client(dr_bao.user).get("/api/v1/exports/patients", {"format": "csv"}))
    assert [r["email"] for r in patients] == ["lan.patient@example.test"]


def test_patients_export_has_no_medical_record_and_takes_a_date_range(staff, visits, patient_dao):
    rows = read(bearer_client(staff).get("/api/v1/exports/patients", {"format": "xlsx"}))
    assert {r["email"] for r in rows} == {"dao.patient@example.test", "lan.patient@example.test"}
    assert not {"allergies", "medications"} & set(rows[0])
    assert read(bearer_client(staff).get("/api/v1/exports/patients", {"format": "csv", **MARCH})) == []


def test_a_control_character_in_a_name_does_not_break_the_workbook(staff, visits, patient_dao):
    """A workbook cannot hold control characters: openpyxl refused the whole file (a 500 found by
    fuzzing); the character becomes U+FFFD, the rest of the name stays."""
    patient_dao.first_name = "Đ\x01ào"
    patient_dao.save(update_fields=["first_name"])
    rows = read(bearer_client(staff).get("/api/v1/exports/patients", {"format": "xlsx"}))
    assert "Đ\ufffdào" in {r["first_name"] for r in rows}


def test_patients_cannot_export(patient_dao):
    app = bearer_client(patient_dao)
    assert app.get("/api/v1/exports/appointments").status_code == 403
    assert app.get("/api/v1/exports/patients").status_code == 403


def test_cells_that_a_spreadsheet_would_run_are_defused(staff, dr_an):
    patient = make_user("evil@example.test", "patient", first_name='=HYPERLINK("http://x")', last_name="+SUM(A1)")
    appointment(dr_an, patient, status="confirmed", starts_at=datetime(2025, 3, 3, 2, tzinfo=UTC))
    rows = read(bearer_client(staff).get("/api/v1/exports/patients", {"format": "xlsx"}))
    row = next(r for r in rows if r["email"] == "evil@example.test")
    assert row["first_name"].startswith("'=") and row["last_name"].startswith("'+")
    csv_rows = read(bearer_client(staff).get("/api/v1/exports/appointments", {"format": "csv"}))
    assert csv_rows[0]["phone"] == "+84 90 000 0001"  # a phone number stays as it is


# --- patients -------------------------------------------------------------------------------------


def test_staff_list_and_search_patients(staff, patient_dao, patient_lan):
    app = bearer_client(staff)
    body = app.get("/api/v1/patients").json()
    assert body["count"] == 2 and set(body) == {"items", "count", "limit", "offset"}
    assert [p["email"] for p in app.get("/api/v1/patients", {"q": "lan"}).json()["items"]] == [patient_lan.email]
    assert app.get("/api/v1/patients", {"is_active": "false"}).json()["count"] == 0


def test_a_doctor_lists_only_their_own_patients(visits, dr_bao):
    body = bearer_client(dr_bao.user).get("/api/v1/patients").json()
    assert [p["email"] for p in body["items"]] == ["lan.patient@example.test"]


def test_staff_register_a_patient(staff):
    app = bearer_client(staff)
    body = {
        "email": "Mai.Patient@Example.test",
        "firstName": "Mai",
        "lastName": "Phan",
        "phone": "+84 93 333 4444",
        "dateOfBirth": "1985-02-01",
    }
    response = app.post("/api/v1/patients", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["email"], created["phone"], created["dateOfBirth"]) == (
        "mai.patient@example.test",
        "+84 93 333 4444",
        "1985-02-01",
    )
    user = User.objects.get(email="mai.patient@example.test")
    assert user.role == "patient" and not user.has_usable_password()
    again = app.post("/api/v1/patients", json.dumps(body), content_type="application/json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"
    bad = app.post("/api/v1/patients", json.dumps({**body, "email": "not-an-email"}), content_type="application/json")
    assert bad.status_code == 422


@pytest.mark.parametrize("role", ["doctor", "patient"])
def test_only_the_clinic_registers_patients(personas, role):
    response = bearer_client(personas[role]).post(
        "/api/v1/patients", json.dumps({"email": "x@example.test", "firstName": "X"}), content_type="application/json"
    )
    assert response.status_code == 403
