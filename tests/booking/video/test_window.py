"""The join window: from VIDEO_JOIN_BEFORE_MINUTES before the start until the end plus the grace."""

from datetime import timedelta

import pytest

from booking import services as svc
from booking.models import Appointment
from booking.video import (
    VideoEnded,
    VideoNotAvailable,
    VideoNotConfigured,
    VideoNotOpenYet,
    video_access,
    video_token_issue,
)
from core.models import AuditLog

SECOND = timedelta(seconds=1)


def opens(visit):
    return visit.starts_at - timedelta(minutes=10)


def closes(visit):
    return visit.ends_at + timedelta(minutes=15)


@pytest.mark.usefixtures("agora")
@pytest.mark.parametrize(
    ("moment", "outcome"),
    [
        (lambda v: opens(v) - SECOND, VideoNotOpenYet),
        (lambda v: opens(v), None),
        (lambda v: opens(v) + SECOND, None),
        (lambda v: closes(v) - SECOND, None),
        (lambda v: closes(v), None),
        (lambda v: closes(v) + SECOND, VideoEnded),
    ],
    ids=["1s-before-opening", "at-opening", "1s-after-opening", "1s-before-closing", "at-closing", "1s-after"],
)
def test_window_edges(visit, patient_dao, moment, outcome):
    now = moment(visit)
    if outcome is None:
        assert video_token_issue(appointment=visit, user=patient_dao, now=now).token
        assert video_access(appointment=visit, user=patient_dao, now=now).state == "open"
        return
    with pytest.raises(outcome) as refused:
        video_token_issue(appointment=visit, user=patient_dao, now=now)
    assert refused.value.status == 409
    assert refused.value.details["opensAt"] == opens(visit).isoformat()
    assert refused.value.details["closesAt"] == closes(visit).isoformat()
    assert not AuditLog.objects.filter(action="booking.video.token_issued").exists()


@pytest.mark.usefixtures("agora")
def test_refusals_say_when_the_call_opens_and_closes(visit, patient_dao):
    with pytest.raises(VideoNotOpenYet) as early:
        video_token_issue(appointment=visit, user=patient_dao, now=opens(visit) - timedelta(hours=1))
    assert "opens at" in early.value.message and "10 minutes before the start" in early.value.message
    with pytest.raises(VideoEnded) as late:
        video_token_issue(appointment=visit, user=patient_dao, now=closes(visit) + timedelta(hours=1))
    assert "This visit has ended" in late.value.message
    access = video_access(appointment=visit, user=patient_dao, now=opens(visit) - timedelta(hours=1))
    assert access.state == "too_early" and access.opens_at == opens(visit)


@pytest.mark.usefixtures("agora")
def test_the_join_lead_time_is_a_setting(visit, patient_dao, settings):
    settings.VIDEO_JOIN_BEFORE_MINUTES = 5
    with pytest.raises(VideoNotOpenYet):
        video_token_issue(appointment=visit, user=patient_dao, now=visit.starts_at - timedelta(minutes=6))
    assert video_token_issue(appointment=visit, user=patient_dao, now=visit.starts_at - timedelta(minutes=5))


@pytest.mark.usefixtures("agora")
def test_only_confirmed_video_visits_can_be_joined(visit, patient_dao, doctor_binh):
    svc.appointment_cancel(appointment=visit, actor=doctor_binh.user, reason="Doctor ill", now=opens(visit))
    cancelled = Appointment.objects.select_related("doctor__user").get(pk=visit.pk)
    with pytest.raises(VideoNotAvailable) as refused:
        video_token_issue(appointment=cancelled, user=patient_dao, now=visit.starts_at)
    assert refused.value.message == "This appointment was cancelled."


@pytest.mark.usefixtures("agora")
def test_a_completed_visit_has_ended(visit, patient_dao, doctor_binh):
    svc.appointment_complete(appointment=visit, actor=doctor_binh.user, now=visit.starts_at + timedelta(minutes=20))
    done = Appointment.objects.select_related("doctor__user").get(pk=visit.pk)
    with pytest.raises(VideoEnded):
        video_token_issue(appointment=done, user=patient_dao, now=visit.starts_at + timedelta(minutes=21))


@pytest.mark.usefixtures("agora")
def test_in_person_visits_have_no_call(visit, patient_dao):
    Appointment.objects.filter(pk=visit.pk).update(mode="in_person")
    in_person = Appointment.objects.select_related("doctor__user").get(pk=visit.pk)
    with pytest.raises(VideoNotAvailable):
        video_token_issue(appointment=in_person, user=patient_dao, now=visit.starts_at)


def test_without_agora_keys_video_is_not_configured(visit, patient_dao, settings):
    settings.AGORA_APP_ID = ""
    settings.AGORA_APP_CERTIFICATE = ""
    with pytest.raises(VideoNotConfigured) as refused:
        video_token_issue(appointment=visit, user=patient_dao, now=visit.starts_at)
    assert refused.value.status == 503
    assert refused.value.message == "Video is not configured."
    assert video_access(appointment=visit, user=patient_dao, now=visit.starts_at).state == "not_configured"
    assert Appointment.objects.get(pk=visit.pk).video_token == ""
