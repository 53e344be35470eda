"""What people click on the video page, in headless Chromium with a fake camera and microphone.

VIDEO_TEST_MODE stubs only Agora's join/publish (Agora is unreachable here): the camera preview,
the buttons, the timer and the token requests to the live server are real.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Appointment
from core.models import AuditLog
from tests.booking.appointments.helpers import make_doctor
from tests.booking.video.helpers import APP_ID, CERTIFICATE, confirmed_visit, decode_token
from workflows.messaging.services import conversation_open_for_appointment, message_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def video_test_mode(settings):
    settings.AGORA_APP_ID = APP_ID
    settings.AGORA_APP_CERTIFICATE = CERTIFICATE
    settings.VIDEO_TEST_MODE = True
    settings.VIDEO_JOIN_BEFORE_MINUTES = 10
    settings.VIDEO_GRACE_MINUTES = 15


@pytest.fixture
def doctor_binh(transactional_db):
    return make_doctor()


def open_video_page(page, appointment):
    page.goto(f"/portal/visits/{appointment.public_id}/video/")
    page.wait_for_selector("#video-visit")


def local_video_is_live(page):
    page.wait_for_function(
        "() => { const v = document.getElementById('local-video');"
        " return v && v.srcObject && v.srcObject.active && v.videoWidth > 0; }"
    )


def track_enabled(page, kind):
    return page.evaluate(
        f"() => document.getElementById('local-video').srcObject.get{kind}Tracks().every(t => t.enabled)"
    )


@pytest.mark.usefixtures("video_test_mode")
def test_the_patient_sees_herself_joins_and_the_buttons_toggle(browser_as, doctor_binh, patient_dao):
    from playwright.sync_api import expect

    visit = confirmed_visit(doctor_binh, patient_dao)
    page = browser_as(patient_dao)
    open_video_page(page, visit)
    expect(page.locator("#video-test-mode")).to_be_visible()
    local_video_is_live(page)
    assert page.evaluate("() => document.getElementById('local-video').videoWidth") > 0

    expect(page.locator("#btn-join")).to_be_enabled()
    expect(page.locator("#btn-end")).to_be_hidden()
    expect(page.locator("#btn-rejoin")).to_be_hidden()

    # before joining: the buttons already work on the preview
    microphone, camera = page.locator("#btn-mic"), page.locator("#btn-cam")
    expect(microphone).to_have_attribute("aria-pressed", "false")
    microphone.click()
    expect(microphone).to_have_attribute("aria-pressed", "true")
    expect(microphone).to_contain_text("Unmute microphone")
    assert track_enabled(page, "Audio") is False
    microphone.click()
    expect(microphone).to_have_attribute("aria-pressed", "false")
    assert track_enabled(page, "Audio") is True

    # join: the server issues the token, the stub "joins" with it, the timer runs
    page.locator("#btn-join").click()
    expect(page.locator("#btn-end")).to_be_visible()
    expect(page.locator("#btn-join")).to_be_hidden()
    expect(page.locator("#call-timer")).not_to_have_text("00:00", timeout=5_000)
    expect(page.locator("#connection-quality")).to_have_attribute("data-quality", "1")
    joined = page.evaluate("() => window.medbookVideo.transport.joinedWith")
    stored = Appointment.objects.get(pk=visit.pk)
    assert joined["channel"] == stored.video_channel and joined["uid"] == patient_dao.pk
    assert joined["token"] == stored.video_token
    assert decode_token(joined["token"]).signed_by(CERTIFICATE, channel=joined["channel"], uid=patient_dao.pk)
    assert page.evaluate("() => window.medbookVideo.transport.published") == {"audio": 1, "video": 1}

    camera.click()
    expect(camera).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#local-box")).to_have_class("video-local is-off")
    assert track_enabled(page, "Video") is False
    assert page.evaluate("() => window.medbookVideo.transport.camEnabled") is False
    camera.click()
    expect(camera).to_have_attribute("aria-pressed", "false")
    assert track_enabled(page, "Video") is True
    assert page.evaluate("() => window.medbookVideo.transport.camEnabled") is True

    # the SDK's "token will expire" event fetches a new token and hands it to renewToken
    page.evaluate("() => window.medbookVideo.transport.emit('token-will-expire')")
    page.wait_for_function("() => window.medbookVideo.transport.renewedTokens.length === 1")
    renewed = page.evaluate("() => window.medbookVideo.transport.renewedTokens[0]")
    assert renewed != joined["token"] and renewed == Appointment.objects.get(pk=visit.pk).video_token
    assert AuditLog.objects.filter(action="booking.video.token_issued", actor=patient_dao).count() == 2

    # leaving as the patient does not complete the visit
    page.locator("#btn-end").click()
    page.locator("#end-leave").click()
    expect(page.locator("#video-status")).to_have_text("You left the call.")
    expect(page.locator("#btn-rejoin")).to_be_visible()
    assert page.evaluate("() => window.medbookVideo.transport.left") is True
    assert Appointment.objects.get(pk=visit.pk).status == "confirmed"


@pytest.mark.usefixtures("video_test_mode")
def test_the_doctor_ending_the_visit_completes_it(browser_as, doctor_binh, patient_dao):
    from playwright.sync_api import expect

    visit = confirmed_visit(doctor_binh, patient_dao, start=timezone.now() - timedelta(minutes=5))
    page = browser_as(doctor_binh.user)
    open_video_page(page, visit)
    local_video_is_live(page)
    page.locator("#btn-join").click()
    expect(page.locator("#btn-end")).to_be_visible()
    page.locator("#btn-end").click()
    expect(page.locator("#end-dialog")).to_be_visible()
    expect(page.locator("#end-dialog-text")).to_contain_text("mark the visit as completed")
    page.locator("#end-complete").click()
    expect(page.locator("#video-status")).to_have_text("The visit is marked as completed.")
    assert Appointment.objects.get(pk=visit.pk).status == "completed"
    # the camera is released
    assert page.evaluate("() => document.getElementById('local-video').srcObject") is None


@pytest.mark.usefixtures("video_test_mode")
def test_before_the_window_the_join_button_waits_with_a_countdown(browser_as, doctor_binh, patient_dao):
    from playwright.sync_api import expect

    visit = confirmed_visit(doctor_binh, patient_dao, start=timezone.now() + timedelta(hours=2))
    page = browser_as(patient_dao)
    open_video_page(page, visit)
    expect(page.locator("#video-countdown")).to_contain_text("The call opens in 1:")
    expect(page.locator("#btn-join")).to_be_disabled()
    local_video_is_live(page)  # the camera can be checked while waiting


def test_without_agora_keys_the_page_says_so(browser_as, doctor_binh, patient_dao, settings):
    from playwright.sync_api import expect

    settings.AGORA_APP_ID = settings.AGORA_APP_CERTIFICATE = ""
    visit = confirmed_visit(doctor_binh, patient_dao)
    page = browser_as(patient_dao)
    open_video_page(page, visit)
    expect(page.locator("#video-closed")).to_contain_text("Video is not configured")
    assert page.locator("#btn-join").count() == 0


def test_a_message_reaches_the_open_thread_without_a_reload(browser_as, doctor_binh, patient_dao):
    from playwright.sync_api import expect

    visit = confirmed_visit(doctor_binh, patient_dao)
    conversation = conversation_open_for_appointment(appointment=visit, actor=patient_dao)
    page = browser_as(patient_dao)
    page.goto(f"/portal/messages/{conversation.pk}/")
    expect(page.locator("#thread-empty")).to_be_visible()

    message_send(conversation=conversation, sender=doctor_binh.user, body="<b>Bring</b> your results")
    expect(page.locator(".thread-message").last).to_contain_text("<b>Bring</b> your results", timeout=10_000)
    assert page.locator(".thread-message b").count() == 0  # shown as text, not markup

    page.locator("#id_body").fill("Will do, thank you.")
    page.locator("#reply-form button[type=submit]").click()
    expect(page.locator(".thread-message.mine")).to_contain_text("Will do, thank you.")
    expect(page.locator("#id_body")).to_have_value("")
    assert conversation.messages.count() == 2
