"""Agora tokens, checked offline: decoded by hand and their HMAC recomputed with the certificate."""

import json
import re
from datetime import timedelta

import pytest

from booking.models import Appointment
from booking.video import video_token_issue
from core.models import AuditLog
from tests.booking.video.helpers import APP_ID, CERTIFICATE, decode_token

pytestmark = pytest.mark.usefixtures("agora")

JOIN, PUBLISH_AUDIO, PUBLISH_VIDEO, PUBLISH_DATA = 1, 2, 3, 4


def test_the_token_is_signed_with_the_app_certificate_for_this_channel_and_uid(visit, patient_dao):
    credentials = video_token_issue(appointment=visit, user=patient_dao, now=visit.starts_at)
    token = decode_token(credentials.token)

    assert token.version == "006" and token.app_id == APP_ID == credentials.app_id
    assert credentials.uid == patient_dao.pk
    assert token.names(channel=credentials.channel, uid=patient_dao.pk)
    assert token.signed_by(CERTIFICATE, channel=credentials.channel, uid=patient_dao.pk)
    # a wrong certificate, another channel or another uid do not verify: the check can fail
    assert not token.signed_by("0" * 32, channel=credentials.channel, uid=patient_dao.pk)
    assert not token.signed_by(CERTIFICATE, channel=credentials.channel + "x", uid=patient_dao.pk)
    assert not token.signed_by(CERTIFICATE, channel=credentials.channel, uid=patient_dao.pk + 1)


def test_publisher_privileges_expire_at_the_end_of_the_visit_plus_the_grace_period(visit, doctor_binh):
    credentials = video_token_issue(appointment=visit, user=doctor_binh.user, now=visit.starts_at)
    token = decode_token(credentials.token)
    expiry = int((visit.ends_at + timedelta(minutes=15)).timestamp())

    assert token.privileges == {JOIN: expiry, PUBLISH_AUDIO: expiry, PUBLISH_VIDEO: expiry, PUBLISH_DATA: expiry}
    assert credentials.expires_at == visit.ends_at + timedelta(minutes=15)
    assert credentials.uid == doctor_binh.user.pk
    assert token.signed_by(CERTIFICATE, channel=credentials.channel, uid=doctor_binh.user.pk)


def test_the_grace_period_is_a_setting(visit, patient_dao, settings):
    settings.VIDEO_GRACE_MINUTES = 5
    credentials = video_token_issue(appointment=visit, user=patient_dao, now=visit.starts_at)
    assert set(decode_token(credentials.token).privileges.values()) == {
        int((visit.ends_at + timedelta(minutes=5)).timestamp())
    }


def test_the_last_token_is_kept_on_the_appointment_and_the_audit_leaves_the_token_out(visit, patient_dao):
    credentials = video_token_issue(appointment=visit, user=patient_dao, now=visit.starts_at)
    stored = Appointment.objects.get(pk=visit.pk)
    assert stored.video_token == credentials.token
    assert stored.video_channel == credentials.channel

    entry = AuditLog.objects.get(action="booking.video.token_issued")
    assert entry.actor == patient_dao and entry.object_id == str(visit.pk)
    assert entry.data == {
        "role": "patient",
        "uid": patient_dao.pk,
        "expires_at": (visit.ends_at + timedelta(minutes=15)).isoformat(),
    }
    assert credentials.token not in json.dumps(entry.data)


def test_both_people_get_the_same_channel_and_one_is_made_when_missing(visit, patient_dao, doctor_binh):
    Appointment.objects.filter(pk=visit.pk).update(video_channel="")
    visit = Appointment.objects.select_related("doctor__user").get(pk=visit.pk)

    patient = video_token_issue(appointment=visit, user=patient_dao, now=visit.starts_at)
    doctor = video_token_issue(
        appointment=Appointment.objects.select_related("doctor__user").get(pk=visit.pk),
        user=doctor_binh.user,
        now=visit.starts_at,
    )
    assert re.fullmatch(rf"appt_{visit.pk}_[0-9a-f]{{16}}", patient.channel)
    assert doctor.channel == patient.channel


def test_renewal_is_issuing_again_inside_the_window(visit, patient_dao):
    first = video_token_issue(appointment=visit, user=patient_dao, now=visit.starts_at)
    second = video_token_issue(appointment=visit, user=patient_dao, now=visit.ends_at)

    assert second.token != first.token  # a fresh salt: a new token, not a copy
    assert second.channel == first.channel
    assert decode_token(second.token).signed_by(CERTIFICATE, channel=second.channel, uid=patient_dao.pk)
    assert Appointment.objects.get(pk=visit.pk).video_token == second.token
    assert AuditLog.objects.filter(action="booking.video.token_issued", actor=patient_dao).count() == 2
