"""Small leaks: the doctor application form does not tell whether an address has an account, the
notification page's ``next`` stays on this site, an unconfirmed visit is TENTATIVE in calendars, and
only core/net.py reads the client address from the request."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from booking import services as svc
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import publish_slots
from workflows.clinic.models import DoctorApplication

ROOT = Path(__file__).resolve().parents[2]


def apply(client, email):
    return client.post(
        "/join/",
        {
            "first_name": "Giang",
            "last_name": "Võ",
            "email": email,
            "phone": "+84 91 234 5678",
            "licence_number": "HCM-000123",
            "years_of_experience": "7",
            "website": "",
        },
    )


def test_join_answers_the_same_whether_or_not_the_address_has_an_account(
    client, patient_dao, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        fresh = apply(client, "new.doctor@example.test")
        taken = apply(client, patient_dao.email.upper())
    assert (fresh.status_code, fresh["Location"]) == (taken.status_code, taken["Location"]) == (302, "/join/thanks/")
    assert list(DoctorApplication.objects.values_list("email", flat=True)) == ["new.doctor@example.test"]
    # only the owner of the address learns that it has an account
    (notice,) = mail.outbox
    assert notice.to == [patient_dao.email] and "already exists" in notice.body and "/accounts/login/" in notice.body


def test_the_duplicate_notice_is_in_the_accounts_language(client, patient_dao, django_capture_on_commit_callbacks):
    patient_dao.language = "vi"
    patient_dao.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        apply(client, patient_dao.email)
    assert "đã tồn tại" in mail.outbox[0].body


@pytest.mark.parametrize(
    "target", ["https://evil.example/phish", "//evil.example/phish", "javascript:alert(1)", "http://testserver.evil/"]
)
def test_notification_next_refuses_other_sites(client, patient_dao, target):
    client.force_login(patient_dao)
    response = client.post("/portal/notifications/read/", {"next": target})
    assert response.status_code == 302 and response["Location"] == "/portal/notifications/"


def test_notification_next_keeps_a_page_of_this_site(client, patient_dao):
    client.force_login(patient_dao)
    response = client.post("/portal/notifications/read/", {"next": "/portal/appointments/?tab=past"})
    assert response["Location"] == "/portal/appointments/?tab=past"


def ics_status(client, appointment) -> str:
    body = client.get(f"/portal/appointments/{appointment.public_id}/calendar.ics").content.decode()
    return re.search(r"^STATUS:(\w+)\r$", body, re.M).group(1)


def test_only_a_confirmed_visit_is_confirmed_in_the_calendar(client, patient_dao, staff_binh):
    reviewer = make_doctor("giang.doctor@clinic.test", auto_confirm=False)
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    slots = publish_slots(reviewer, start=start, count=3)
    visit = svc.appointment_book(
        slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    client.force_login(patient_dao)
    assert ics_status(client, visit) == "TENTATIVE"  # unpaid hold
    svc.payment_mark_cash_paid(appointment=visit, actor=staff_binh)
    visit.refresh_from_db()
    assert visit.status == "pending" and ics_status(client, visit) == "TENTATIVE"  # waiting for the doctor
    svc.appointment_confirm(appointment=visit, actor=reviewer.user)
    assert ics_status(client, visit) == "CONFIRMED"
    visit.refresh_from_db()
    svc.appointment_cancel(appointment=visit, actor=staff_binh, reason="Doctor ill")
    assert ics_status(client, visit) == "CANCELLED"


def test_only_core_net_reads_the_client_address():
    reads = re.compile(r"REMOTE_ADDR|X[-_]Forwarded[-_]For|X[-_]Real[-_]IP", re.I)
    offenders = []
    for folder in ("platform", "booking", "workflows", "portal", "cms", "themes"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.relative_to(ROOT).as_posix() == "platform/core/net.py" or "migrations" in path.parts:
                continue
            text = path.read_text()
            # settings may name the header in a comment explaining TRUSTED_PROXY_COUNT
            code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
            if reads.search(code):
                offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []
