"""CSV and XLSX exports (parsed back), their filters and each role's scope; the patient import; the
printable day schedule; query counts of the admin list pages."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import urlencode

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.services import patient_profile_update
from booking.models import Payment
from core.models import AuditLog
from tests.workflows.clinic.conftest import appointment

CSV_FORMAT, XLSX_FORMAT = "0", "1"


def export(client, url: str, fmt: str = CSV_FORMAT, **filters) -> list[dict]:
    """Ask the export page for every column the user may export, as CSV or XLSX, and read it back."""
    query = "?" + urlencode(filters) if filters else ""
    page = client.get(url + query)
    assert page.status_code == 200, page.status_code
    form = page.context["form"]
    data = {"resource": "0", "format": fmt}
    data.update({name: "on" for name, field in form.fields.items() if field.__class__.__name__ == "BooleanField"})
    response = client.post(url + query, data)
    assert response.status_code == 200, response.content[:300]
    if fmt == CSV_FORMAT:
        return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.fixture
def visits(dr_an, dr_bao, patient_dao, patient_lan):
    a1 = appointment(
        dr_an, patient_dao, status="confirmed", starts_at=datetime(2025, 3, 3, 2, tzinfo=UTC), reason="Đau đầu kéo dài"
    )
    a2 = appointment(dr_an, patient_lan, status="cancelled", starts_at=datetime(2025, 3, 20, 2, tzinfo=UTC))
    a3 = appointment(dr_bao, patient_lan, status="completed", starts_at=datetime(2025, 4, 2, 2, tzinfo=UTC))
    Payment.objects.create(
        appointment=a1,
        gateway="cash",
        amount=Decimal("500000"),
        currency="VND",
        status="succeeded",
        paid_at=datetime(2025, 3, 1, 2, tzinfo=UTC),
    )
    return a1, a2, a3


@pytest.mark.parametrize("fmt", [CSV_FORMAT, XLSX_FORMAT])
def test_admins_export_appointments_with_the_lists_filters(client, admin_an, visits, fmt):
    a1, a2, a3 = visits
    client.force_login(admin_an)
    rows = export(client, "/admin/booking/appointment/export/", fmt)
    assert sorted(int(r["id"]) for r in rows) == sorted([a1.pk, a2.pk, a3.pk])
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[a1.pk]["reason"] == "Đau đầu kéo dài"
    assert by_id[a1.pk]["starts_at"] == "2025-03-03 09:00"  # the clinic's clock
    assert by_id[a1.pk]["doctor"] == "An Lê"

    confirmed = export(client, "/admin/booking/appointment/export/", fmt, status__exact="confirmed")
    assert [int(r["id"]) for r in confirmed] == [a1.pk]
    march = export(
        client,
        "/admin/booking/appointment/export/",
        fmt,
        starts_at_from_0="2025-03-01",
        starts_at_from_1="00:00",
        starts_at_to_0="2025-03-31",
        starts_at_to_1="23:59",
    )
    assert sorted(int(r["id"]) for r in march) == sorted([a1.pk, a2.pk])


def test_a_doctor_exports_only_their_own_appointments(client, dr_an, visits):
    a1, a2, _a3 = visits
    client.force_login(dr_an.user)
    rows = export(client, "/admin/booking/appointment/export/")
    assert sorted(int(r["id"]) for r in rows) == sorted([a1.pk, a2.pk])
    assert "reason" in rows[0]


def test_staff_exports_leave_out_the_reason_for_the_visit(client, staff_binh, visits):
    client.force_login(staff_binh)
    rows = export(client, "/admin/booking/appointment/export/", XLSX_FORMAT)
    assert len(rows) == 3 and "reason" not in rows[0]
    assert all("Đau đầu" not in str(value) for row in rows for value in row.values())


def test_patient_exports_never_carry_the_medical_record(
    client, admin_an, staff_binh, patient_dao, patient_lan, dr_an, visits
):
    record = patient_dao.patient_profile.medical_record
    record.allergies = "penicillin"
    record.save()
    patient_profile_update(user=patient_dao, actor=admin_an, phone="0912 345 678", national_id="079300001234")
    for user in (admin_an, staff_binh):
        client.force_login(user)
        rows = export(client, "/admin/accounts/patientprofile/export/", XLSX_FORMAT)
        assert {r["email"] for r in rows} == {patient_dao.email, patient_lan.email}
        dao = next(r for r in rows if r["email"] == patient_dao.email)
        assert dao["phone"] == "0912 345 678" and dao["national_id"] == "079300001234"
        assert all("penicillin" not in str(value) for row in rows for value in row.values())
    # Dr An's patients are the two with appointments with Dr An
    client.force_login(dr_an.user)
    assert {r["email"] for r in export(client, "/admin/accounts/patientprofile/export/")} == {
        patient_dao.email,
        patient_lan.email,
    }


def test_a_doctor_without_visits_with_a_patient_exports_none_of_them(client, dr_bao, patient_dao, visits):
    client.force_login(dr_bao.user)
    emails = {r["email"] for r in export(client, "/admin/accounts/patientprofile/export/")}
    assert patient_dao.email not in emails


def test_payments_and_doctors_export(client, staff_binh, visits, dr_an, dr_bao):
    client.force_login(staff_binh)
    (payment,) = export(client, "/admin/booking/payment/export/", status__exact="succeeded")
    assert payment["amount"] in {"500000.00", "500000"} and payment["doctor"] == "An Lê"
    doctors = export(client, "/admin/booking/doctor/export/", XLSX_FORMAT)
    assert {d["email"] for d in doctors} == {dr_an.user.email, dr_bao.user.email}


def test_doctors_cannot_export_payments_and_only_admins_import(client, dr_an, staff_binh):
    client.force_login(dr_an.user)
    assert client.get("/admin/booking/payment/export/").status_code == 403
    client.force_login(staff_binh)
    assert client.get("/admin/accounts/patientprofile/import/").status_code == 403


def test_admins_import_patients_through_the_services(client, admin_an, patient_dao):
    client.force_login(admin_an)
    content = (
        "email,first_name,last_name,phone,national_id,date_of_birth\n"
        "new.patient@example.test,Mai,Nguyễn,0909 111 222,079111222333,1990-05-01\n"
        f"{patient_dao.email},Đào,Test,0988 000 111,,\n"
    ).encode()
    upload = io.BytesIO(content)
    upload.name = "patients.csv"
    confirm = client.post(
        "/admin/accounts/patientprofile/import/", {"format": "0", "resource": "0", "import_file": upload}
    )
    assert confirm.status_code == 200
    assert "confirm_form" in confirm.context, [
        str(e) for e in (confirm.context.get("result").row_errors() if confirm.context.get("result") else [])
    ] or confirm.context.get("form").errors
    form = confirm.context["confirm_form"]
    response = client.post(
        "/admin/accounts/patientprofile/process_import/", {name: form.initial.get(name, "") for name in form.fields}
    )
    assert response.status_code == 302
    mai = User.objects.get(email="new.patient@example.test")
    assert mai.role == "patient" and mai.first_name == "Mai"
    assert mai.patient_profile.phone == "0909 111 222" and mai.patient_profile.date_of_birth == date(1990, 5, 1)
    assert mai.patient_profile.medical_record is not None
    patient_dao.patient_profile.refresh_from_db()
    assert patient_dao.patient_profile.phone == "0988 000 111"
    assert AuditLog.objects.filter(action="accounts.user.created", actor=admin_an, object_id=str(mai.pk)).exists()


def test_the_day_schedule_pdf_prints_a_doctors_day_with_vietnamese_names(client, dr_an, dr_bao, patient_dao, tmp_path):
    day_visit = appointment(dr_an, patient_dao, status="confirmed", starts_at=datetime(2025, 3, 3, 2, tzinfo=UTC))
    day_visit.last_name, day_visit.first_name = "Nguyễn", "Thị Đào"
    day_visit.save(update_fields=["last_name", "first_name"])
    client.force_login(dr_an.user)
    response = client.get("/admin/booking/appointment/day-schedule.pdf", {"date": "2025-03-03"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert b"DejaVu" in response.content  # the embedded font
    # another doctor's day answers 404
    assert (
        client.get(
            "/admin/booking/appointment/day-schedule.pdf", {"doctor": dr_bao.pk, "date": "2025-03-03"}
        ).status_code
        == 404
    )
    pdftotext = shutil.which("pdftotext")  # poppler-utils, when the machine has it
    if pdftotext:
        path = tmp_path / "day.pdf"
        path.write_bytes(response.content)
        text = subprocess.run([pdftotext, str(path), "-"], capture_output=True, text=True, check=True).stdout
        assert "Nguyễn Thị Đào" in text and "09:00" in text
    assert AuditLog.objects.filter(action="booking.day_schedule.printed", actor=dr_an.user).exists()


def test_staff_print_any_doctors_day_from_the_exports_page(client, staff_binh, dr_bao):
    client.force_login(staff_binh)
    page = client.get("/admin/booking/appointment/exports/").content.decode()
    assert "/admin/booking/payment/export/" in page and "day-schedule.pdf" in page
    response = client.get("/admin/booking/appointment/day-schedule.pdf", {"doctor": dr_bao.pk, "date": "2025-03-03"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/booking/appointment/",
        "/admin/booking/payment/",
        "/admin/accounts/patientprofile/",
        "/admin/clinic/doctorapplication/",
        "/admin/clinic/doctorsubscription/",
        "/admin/core/auditlog/",
    ],
)
def test_list_pages_run_the_same_queries_for_more_rows(client, admin_an, dr_an, patient_dao, patient_lan, path):
    from tests.workflows.clinic.conftest import make_doctor_for
    from workflows.clinic.models import SubscriptionPlan
    from workflows.clinic.services import doctor_application_submit, subscription_start

    plan = SubscriptionPlan.objects.create(name="Monthly", price=Decimal("100"), period_months=1)

    def add(n: int, offset: int):
        for i in range(offset, offset + n):
            visit = appointment(
                dr_an,
                patient_dao if i % 2 else patient_lan,
                status="confirmed",
                starts_at=datetime(2025, 3, 1 + i % 28, 2, tzinfo=UTC),
            )
            Payment.objects.create(appointment=visit, gateway="cash", amount=Decimal("1"), currency="VND")
            doctor_application_submit(
                first_name="A", last_name=str(i), email=f"a{i}@example.test", phone="1", licence_number="L"
            )
            doctor = make_doctor_for(f"d{i}@clinic.test", first_name="D", last_name=str(i))
            subscription_start(doctor=doctor, plan=plan, actor=admin_an)

    client.force_login(admin_an)
    add(2, 0)
    client.get(path)
    with CaptureQueriesContext(connection) as few:
        assert client.get(path).status_code == 200
    add(15, 2)
    with CaptureQueriesContext(connection) as many:
        assert client.get(path).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries), "\n".join(
        q["sql"][:200] for q in many.captured_queries
    )
    # filtered pages skip the full count
    with CaptureQueriesContext(connection) as filtered:
        client.get(path, {"q": "zzz"})
    counts = [  # the list's own count (the sidebar's unread-messages badge is not the list's)
        q["sql"] for q in filtered.captured_queries if "COUNT(" in q["sql"].upper() and "messaging_" not in q["sql"]
    ]
    assert len(counts) <= 1, counts


@pytest.mark.parametrize("orphans", [0, 2])
def test_the_list_paginator_gives_the_same_pages_as_plain_slicing(dr_an, dr_bao, patient_dao, orphans):
    from django.core.paginator import Paginator

    from booking.models import Appointment
    from core.paginator import DeferredJoinPaginator

    for i in range(11):  # several visits share a start time: the id breaks the tie
        appointment(
            dr_an if i % 2 else dr_bao,
            patient_dao,
            status="confirmed",
            starts_at=datetime(2025, 3, 1 + i % 4, 2, tzinfo=UTC),
        )
    rows = Appointment.objects.select_related("doctor__user").order_by("-starts_at", "-id")
    fast, plain = DeferredJoinPaginator(rows, 3, orphans=orphans), Paginator(rows, 3, orphans=orphans)
    assert fast.num_pages == plain.num_pages
    for number in plain.page_range:
        assert [a.pk for a in fast.page(number)] == [a.pk for a in plain.page(number)]
    assert str(fast.page(1)[0].doctor) in {"An Lê", "Bảo Trần"}
