"""The video visit page: who may open it, what it says in each state, and the vendored SDK."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment
from portal.video import AGORA_SDK
from tests.booking.video.helpers import confirmed_visit


def page_url(appointment):
    return f"/portal/visits/{appointment.public_id}/video/"


def config_of(response):
    html = response.content.decode()
    start = html.index('<script id="video-config" type="application/json">') + len(
        '<script id="video-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


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
    ],
)
def test_only_the_two_people_in_the_visit_open_the_page(client, visit, people, who, status):
    client.force_login(people[who])
    assert client.get(page_url(visit)).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client, visit):
    response = client.get(page_url(visit))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.usefixtures("agora")
def test_an_open_visit_renders_the_call_with_the_vendored_sdk(client, visit, patient_dao):
    client.force_login(patient_dao)
    response = client.get(page_url(visit))
    html = response.content.decode()
    config = config_of(response)
    assert config["state"] == "open" and config["role"] == "patient"
    assert config["tokenUrl"] == f"/api/v1/appointments/{visit.public_id}/video-token"
    assert config["testMode"] is False
    assert f'src="/static/{AGORA_SDK}"' in html
    # every script and style the page loads is local (a random CSRF token or nonce may spell "cdn")
    loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert loaded and not [address for address in loaded if "://" in address or address.startswith("//")]
    assert "agora.io" not in html
    for control in ("btn-join", "btn-mic", "btn-cam", "btn-fullscreen", "btn-end", "call-timer", "connection-quality"):
        assert f'id="{control}"' in html
    assert "Test mode" not in html
    assert str(visit.doctor) in html


@pytest.mark.usefixtures("agora")
def test_test_mode_is_announced_and_skips_the_sdk(client, visit, patient_dao, settings):
    settings.VIDEO_TEST_MODE = True
    client.force_login(patient_dao)
    response = client.get(page_url(visit))
    assert config_of(response)["testMode"] is True
    html = response.content.decode()
    assert 'id="video-test-mode"' in html and AGORA_SDK not in html


@pytest.mark.usefixtures("agora")
def test_before_the_window_the_page_counts_down(client, doctor_binh, patient_dao):
    later = confirmed_visit(doctor_binh, patient_dao, start=timezone.now() + timedelta(hours=3))
    client.force_login(patient_dao)
    response = client.get(page_url(later))
    config = config_of(response)
    assert config["state"] == "too_early"
    assert config["opensAt"] == (later.starts_at - timedelta(minutes=10)).isoformat()
    assert 'id="btn-join" type="button" class="button video-join" disabled' in response.content.decode()


@pytest.mark.usefixtures("agora")
def test_after_the_window_the_page_says_the_visit_has_ended(client, doctor_binh, patient_dao):
    earlier = confirmed_visit(doctor_binh, patient_dao, start=timezone.now() - timedelta(hours=2))
    client.force_login(patient_dao)
    response = client.get(page_url(earlier))
    assert "This visit has ended." in response.content.decode()
    assert config_of(response)["state"] == "ended"
    assert 'id="btn-join"' not in response.content.decode()


@pytest.mark.usefixtures("agora")
def test_a_cancelled_visit_says_so(client, visit, patient_dao):
    svc.appointment_cancel(appointment=visit, actor=patient_dao)
    client.force_login(patient_dao)
    assert "This appointment was cancelled." in client.get(page_url(visit)).content.decode()


def test_without_agora_keys_the_page_says_video_is_not_configured(client, visit, doctor_binh, settings):
    settings.AGORA_APP_ID = settings.AGORA_APP_CERTIFICATE = ""
    client.force_login(doctor_binh.user)
    response = client.get(page_url(visit))
    assert response.status_code == 200
    assert "Video is not configured" in response.content.decode()
    assert Appointment.objects.get(pk=visit.pk).video_token == ""


def test_the_vendored_sdk_and_its_licence_are_in_the_repository():
    vendor = Path(django_settings.BASE_DIR) / "themes" / "static" / "vendor" / "agora"
    sdk = Path(django_settings.BASE_DIR) / "themes" / "static" / AGORA_SDK
    assert sdk.is_file() and sdk.stat().st_size > 500_000
    assert sdk.read_text()[:200].lstrip().startswith("/**") and "AgoraWebSDK_N" in sdk.read_text()[:200]
    version = AGORA_SDK.rsplit("-", 1)[1].removesuffix(".js")
    assert f"version: {version}" in (vendor / "VERSION").read_text()
    assert "MIT License" in (vendor / "LICENSE").read_text()
    assert (vendor / "update.sh").stat().st_mode & 0o111


@pytest.mark.usefixtures("agora")
def test_doctors_reach_the_video_page_from_the_appointment_admin(client, visit, doctor_binh):
    client.force_login(doctor_binh.user)
    html = client.get(f"/admin/booking/appointment/{visit.pk}/change/").content.decode()
    assert f'href="{page_url(visit)}"' in html and "Join video" in html
    assert client.get(page_url(visit)).status_code == 200
