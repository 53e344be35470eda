"""A doctor in a real browser writes and signs a visit note with a diagnosis and a prescription beside
the visit; the patient then reads the summary and downloads the prescription PDF (headless Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.booking.appointments.helpers import completed_visit, make_doctor
from workflows.clinical.models import VisitNote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_doctor_writes_and_signs_a_note_and_the_patient_downloads_the_prescription(
    browser_as, patient_dao, settings, tmp_path
):
    settings.CLINICAL_DOCUMENTS_DIR = tmp_path
    doctor = make_doctor("lan.browser@clinic.test")
    visit = completed_visit(doctor, patient_dao, days_ago=1)

    page = browser_as(doctor.user)
    page.goto(f"/admin/booking/appointment/{visit.pk}/change/")
    page.get_by_role("link", name="Write the visit note").click()
    page.get_by_role("button", name="Start the note").click()
    page.wait_for_url(re.compile(r"/admin/clinical/visitnote/\d+/change/$"))
    page.locator("#id_subjective").fill("Wheezing at night")
    page.locator("#id_assessment").fill("Allergic asthma")
    page.locator("#id_plan").fill("Inhaler; review in 4 weeks")
    page.locator("#id_pulse_bpm").fill("88")
    page.get_by_role("link", name=re.compile("diagnoses", re.I)).first.click()
    page.locator("#id_diagnoses-0-code").fill("J45.0")
    page.get_by_role("link", name=re.compile("^prescription$", re.I)).first.click()
    page.locator("#id_prescription_lines-0-medicine").fill("Budesonide inhaler")
    page.locator("#id_prescription_lines-0-strength").fill("200 mcg")
    page.locator("#id_prescription_lines-0-frequency").fill("twice a day")
    with page.expect_navigation():
        page.locator("button[name=_continue]").first.click()
    assert "changed successfully" in page.content()
    note = VisitNote.objects.get(appointment=visit)
    assert [d.code for d in note.diagnoses.all()] == ["J45.0"]

    page.get_by_role("link", name="Sign").first.click()  # Unfold's dialog
    with page.expect_navigation():
        page.get_by_role("button", name="Sign").last.click()
    assert "Visit note signed." in page.content()
    note.refresh_from_db()
    assert note.status == "signed"

    patient = browser_as(patient_dao)
    patient.goto(f"/portal/appointments/{visit.public_id}/")
    assert "Allergic asthma" in patient.locator("#visit-summary").inner_text()
    with patient.expect_download() as download_info:
        patient.get_by_role("link", name="Download the prescription (PDF)").click()
    path = download_info.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF-")
