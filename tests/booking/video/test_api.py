"""POST /api/v1/appointments/<id>/video-token and /video-end: every role, renewal, completion."""

from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Appointment
from core.models import AuditLog
from tests.booking.video.helpers import CERTIFICATE, confirmed_visit, decode_token
from tests.factories import make_user


def token_url(appointment):
    return f"/api/v1/appointments/{appointment.public_id}/video-token"


def end_url(appointment):
    return f"/api/v1/appointments/{appointment.public_id}/video-end"


@pytest.fixture
def people(patient_dao, doctor_binh, doctor_giang, patient_lan, staff_binh, admin_an):
    return {
        "patient": patient_dao,
        "their_doctor": doctor_binh.user,
        "another_doctor": doctor_giang.user,
        "another_patient": patient_lan,
        "staff": staff_binh,
        "admin": admin_an,
    }


@pytest.mark.usefixtures("agora")
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("patient", 200),
        ("their_doctor", 200),
        ("another_doctor", 404),
        ("another_patient", 404),
        ("staff", 404),
        ("admin", 404),
        ("anonymous", 401),
    ],
)
def test_only_the_patient_and_their_doctor_get_a_token(client, visit, people, who, status):
    if who != "anonymous":
        client.force_login(people[who])
    response = client.post(token_url(visit))
    assert response.status_code == status, response.content
    if status == 200:
        body = response.json()
        user = people[who]
        assert body["uid"] == user.pk and body["channel"] == visit.video_channel
        assert body["role"] == ("patient" if who == "patient" else "doctor")
        assert decode_token(body["token"]).signed_by(CERTIFICATE, channel=body["channel"], uid=user.pk)
    else:
        assert "token" not in response.json()
        assert not AuditLog.objects.filter(action="booking.video.token_issued").exists()


@pytest.mark.usefixtures("agora")
def test_an_unknown_appointment_is_404(client, patient_dao):
    client.force_login(patient_dao)
    response = client.post("/api/v1/appointments/00000000-0000-0000-0000-000000000000/video-token")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.usefixtures("agora")
def test_renewal_through_the_api_returns_a_new_valid_token(client, visit, patient_dao):
    client.force_login(patient_dao)
    first = client.post(token_url(visit)).json()
    second = client.post(token_url(visit)).json()
    assert first["token"] != second["token"] and first["channel"] == second["channel"]
    assert Appointment.objects.get(pk=visit.pk).video_token == second["token"]


@pytest.mark.usefixtures("agora")
def test_outside_the_window_the_api_refuses_with_the_window(client, doctor_binh, patient_dao):
    later = confirmed_visit(doctor_binh, patient_dao, start=timezone.now() + timedelta(hours=3))
    client.force_login(patient_dao)
    response = client.post(token_url(later))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "video_not_open_yet"
    assert error["details"]["opensAt"] == (later.starts_at - timedelta(minutes=10)).isoformat()


def test_without_agora_keys_the_api_answers_503(client, visit, patient_dao, settings):
    settings.AGORA_APP_ID = settings.AGORA_APP_CERTIFICATE = ""
    client.force_login(patient_dao)
    response = client.post(token_url(visit))
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "video_not_configured",
        "message": "Video is not configured.",
        "details": {},
    }


def test_session_calls_need_the_csrf_token(visit, patient_dao, agora):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(patient_dao)
    assert client.post(token_url(visit)).status_code == 403


@pytest.fixture
def visit_in_progress(doctor_binh, patient_dao):
    return confirmed_visit(doctor_binh, patient_dao, start=timezone.now() - timedelta(minutes=5))


@pytest.mark.usefixtures("agora")
def test_the_doctor_ending_the_call_completes_the_visit(client, visit_in_progress, doctor_binh):
    client.force_login(doctor_binh.user)
    response = client.post(end_url(visit_in_progress))
    assert response.status_code == 200
    assert response.json() == {"completed": True, "status": "completed"}
    assert Appointment.objects.get(pk=visit_in_progress.pk).status == "completed"
    assert AuditLog.objects.filter(action="booking.appointment.completed", actor=doctor_binh.user).exists()


@pytest.mark.usefixtures("agora")
def test_the_patient_leaving_does_not_complete_the_visit(client, visit_in_progress, patient_dao):
    client.force_login(patient_dao)
    response = client.post(end_url(visit_in_progress))
    assert response.json() == {"completed": False, "status": "confirmed"}
    assert Appointment.objects.get(pk=visit_in_progress.pk).status == "confirmed"


@pytest.mark.usefixtures("agora")
@pytest.mark.parametrize("who", ["another_doctor", "another_patient", "staff", "admin"])
def test_nobody_else_can_end_the_call(client, visit_in_progress, people, who):
    client.force_login(people[who])
    assert client.post(end_url(visit_in_progress)).status_code == 404
    assert Appointment.objects.get(pk=visit_in_progress.pk).status == "confirmed"


@pytest.mark.usefixtures("agora")
def test_ending_before_the_start_is_refused_with_a_message(client, visit, doctor_binh):
    client.force_login(doctor_binh.user)
    response = client.post(end_url(visit))
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "A visit can be completed once it has started."
    assert Appointment.objects.get(pk=visit.pk).status == "confirmed"


def test_another_users_account_cannot_even_tell_the_appointment_exists(client, visit, db):
    stranger = make_user("stranger@example.test", "patient")
    client.force_login(stranger)
    missing = client.post("/api/v1/appointments/00000000-0000-0000-0000-000000000000/video-token")
    theirs = client.post(token_url(visit))
    assert missing.status_code == theirs.status_code == 404
    assert missing.json() == theirs.json()
