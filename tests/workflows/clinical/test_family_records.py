"""A child's record stays the child's: Dr Bình, who saw Đào's son Minh, reads Minh's notes and
documents, never Đào's (whom he never saw); Đào reads Minh's signed summary as his parent; another
patient reads nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from accounts.family import dependant_add
from tests.booking.appointments.helpers import completed_visit, make_doctor
from tests.workflows.clinical.helpers import asthma_note
from workflows.clinical import rules
from workflows.clinical import services as svc

pytestmark = pytest.mark.django_db


@pytest.fixture
def minh(patient_dao):
    return dependant_add(
        holder=patient_dao,
        actor=patient_dao,
        first_name="Minh",
        last_name="Nguyễn",
        date_of_birth=dt.date(2018, 3, 14),
        relationship="child",
    )


def test_the_doctor_of_a_childs_visit_reads_the_childs_record_only(doctor_binh, patient_dao, minh, patient_khoa):
    childs_visit = completed_visit(doctor_binh, minh, days_ago=1)
    parents_visit = completed_visit(make_doctor("giang.doctor@clinic.test"), patient_dao, days_ago=3)
    note = svc.visit_note_start(appointment=childs_visit, actor=doctor_binh.user)
    svc.visit_note_save_draft(note=note, actor=doctor_binh.user, content=asthma_note())
    svc.visit_note_sign(note=note, actor=doctor_binh.user)

    assert rules.may_read_patient(user=doctor_binh.user, patient_id=minh.pk)
    assert not rules.may_read_patient(user=doctor_binh.user, patient_id=patient_dao.pk)
    assert not rules.may_read(user=doctor_binh.user, appointment=parents_visit)

    note.refresh_from_db()
    assert rules.patient_may_see_summary(user=patient_dao, note=note)  # the parent, for the child
    assert not rules.patient_may_see_summary(user=patient_khoa, note=note)
    assert rules.may_upload_document(user=patient_dao, appointment=childs_visit)
    assert not rules.may_upload_document(user=patient_khoa, appointment=childs_visit)

    # the portal: Đào opens Minh's visit and reads the summary; Khoa gets 404
    page = f"/portal/appointments/{childs_visit.public_id}/"
    parent = Client()
    parent.force_login(patient_dao)
    body = parent.get(page).content.decode()
    assert "Allergic asthma, mild persistent" in body and "Minh" in body
    stranger = Client()
    stranger.force_login(patient_khoa)
    assert stranger.get(page).status_code == 404
    # Đào's own "My health" page lists her own summaries, not her son's
    assert "Allergic asthma" not in parent.get("/portal/profile/medical-record/").content.decode()
