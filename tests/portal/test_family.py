"""The Family pages and "who is this visit for?": Đào adds her son, books for him from the doctor's page,
sees the visit in "My appointments" with his name, and gives him his own login later."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.family import dependant_add
from accounts.models import User
from booking.models import Appointment
from core.models import AuditLog
from tests.booking.appointments.helpers import make_doctor
from tests.factories import make_user, publish_slots

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def family_dao(patient_dao):
    profile = patient_dao.patient_profile
    profile.phone = "0901234567"
    profile.save(update_fields=["phone"])
    return patient_dao


def test_the_holder_adds_a_child_and_books_a_visit_for_him(family_dao):
    client = client_for(family_dao)
    assert client.get("/portal/family/").status_code == 200
    response = client.post(
        "/portal/family/",
        {
            "first_name": "Minh",
            "last_name": "Nguyễn",
            "date_of_birth": "2018-03-14",
            "gender": "male",
            "relationship": "child",
        },
    )
    assert response.status_code == 302
    minh = User.objects.get(guardian=family_dao)
    assert "Minh Nguyễn" in client.get("/portal/family/").content.decode()

    doctor = make_doctor()
    slot = publish_slots(
        doctor, start=(timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0), count=1
    )[0]
    page = client.get(f"/portal/book/{doctor.pk}/?slot={slot.pk}").content.decode()
    assert "Who is this visit for?" in page and f'value="{minh.pk}"' in page
    response = client.post(
        f"/portal/book/{doctor.pk}/",
        {
            "slot": slot.pk,
            "patient": str(minh.pk),
            "first_name": family_dao.first_name or "Đào",
            "last_name": family_dao.last_name,
            "phone": "0901234567",
            "email": family_dao.email,
            "national_id": "",
            "reason": "Fever",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    appointment = Appointment.objects.get()
    assert appointment.patient == minh and appointment.booked_by == family_dao
    assert (appointment.first_name, appointment.last_name) == ("Minh", "Nguyễn")
    listing = client.get("/portal/appointments/").content.decode()
    assert "For Nguyễn Minh" in listing  # the visit's name, family name first
    assert client.get(f"/portal/appointments/{appointment.public_id}/").status_code == 200
    member_page = client.get(f"/portal/family/{minh.pk}/").content.decode()
    assert str(appointment.public_id) in member_page
    assert AuditLog.objects.filter(action="accounts.medical_record.viewed", actor=family_dao).exists()


def test_another_patient_gets_404_for_someone_elses_family(family_dao):
    minh = dependant_add(
        holder=family_dao,
        actor=family_dao,
        first_name="Minh",
        last_name="Nguyễn",
        date_of_birth=dt.date(2018, 3, 14),
        relationship="child",
    )
    lan = client_for(make_user("lan.patient@example.test", "patient", first_name="Lan"))
    assert lan.get(f"/portal/family/{minh.pk}/").status_code == 404
    assert lan.post(f"/portal/family/{minh.pk}/login/", {"email": "x@example.test"}).status_code == 404
    doctor = make_doctor()
    slot = publish_slots(
        doctor, start=(timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0), count=1
    )[0]
    lan.post(
        f"/portal/book/{doctor.pk}/",
        {
            "slot": slot.pk,
            "patient": str(minh.pk),
            "first_name": "L",
            "last_name": "L",
            "phone": "0901234567",
            "email": "lan.patient@example.test",
        },
    )
    # the choice is not offered to her, and a forged one is ignored: she booked for herself
    assert not Appointment.objects.filter(patient=minh).exists()


def test_the_holder_edits_the_record_and_gives_a_login(family_dao):
    minh = dependant_add(
        holder=family_dao,
        actor=family_dao,
        first_name="Minh",
        last_name="Nguyễn",
        date_of_birth=dt.date(2018, 3, 14),
        relationship="child",
    )
    client = client_for(family_dao)
    client.post(
        f"/portal/family/{minh.pk}/",
        {"form": "record", "allergies": "Penicillin", "chronic_conditions": "", "medications": ""},
    )
    minh.refresh_from_db()
    assert minh.patient_profile.medical_record.allergies == "Penicillin"
    assert family_dao.patient_profile.medical_record.allergies == ""
    response = client.post(f"/portal/family/{minh.pk}/login/", {"email": "minh@example.test"})
    assert response.status_code == 302
    minh.refresh_from_db()
    assert minh.email == "minh@example.test" and minh.guardian_id is None
    assert client.get(f"/portal/family/{minh.pk}/").status_code == 404
