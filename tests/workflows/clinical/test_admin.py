"""The doctor's workspace: a note is started from the appointment page, written with its diagnoses and
prescription, signed with a button and amended with a reason; other doctors of the patient read it (each
read audited), staff see only that it exists."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import AuditLog
from workflows.clinical import services as svc
from workflows.clinical.models import VisitNote
from workflows.clinical.services import LINE_FIELDS

pytestmark = pytest.mark.django_db

VITALS_EMPTY = dict.fromkeys(
    (
        "temperature_c",
        "pulse_bpm",
        "systolic_mmhg",
        "diastolic_mmhg",
        "respiratory_rate",
        "spo2_percent",
        "weight_kg",
        "height_cm",
    ),
    "",
)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def note_form(note: VisitNote, *, diagnoses=(), lines=(), plan_items=(), **fields) -> dict:
    """The change form's POST: the note's fields, its diagnosis and prescription rows (existing rows are
    sent back with their ids, as the page does), and the history formset."""
    data = {"subjective": "", "objective": "", "assessment": "", "plan": "", "free_text": "", **VITALS_EMPTY}
    data.update(fields)
    existing_d = list(note.diagnoses.all())
    existing_l = list(note.prescription_lines.all())
    rows_d = [{"id": d.pk, "code": d.code, "comment": d.comment} for d in existing_d] + [
        {"code": code, "comment": comment} for code, comment in diagnoses
    ]
    rows_l = [{"id": line.pk, **{n: getattr(line, n) for n in LINE_FIELDS}} for line in existing_l] + [
        {n: line.get(n, "") for n in LINE_FIELDS} for line in lines
    ]
    existing_p = list(note.plan_items.all())
    rows_p = [
        {"id": p.pk, "kind": p.kind, "text": p.text, "due_date": p.due_date.isoformat() if p.due_date else ""}
        for p in existing_p
    ] + [{"kind": kind, "text": text, "due_date": due} for kind, text, due in plan_items]
    for prefix, rows, initial in (
        ("diagnoses", rows_d, len(existing_d)),
        ("prescription_lines", rows_l, len(existing_l)),
        ("plan_items", rows_p, len(existing_p)),
    ):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": len(rows),
                f"{prefix}-INITIAL_FORMS": initial,
                f"{prefix}-MIN_NUM_FORMS": 0,
                f"{prefix}-MAX_NUM_FORMS": 1000,
            }
        )
        for i, row in enumerate(rows):
            data.update({f"{prefix}-{i}-{key}": value for key, value in row.items()})
            data[f"{prefix}-{i}-note"] = note.pk
    data.update(
        {
            "versions-TOTAL_FORMS": 0,
            "versions-INITIAL_FORMS": 0,
            "versions-MIN_NUM_FORMS": 0,
            "versions-MAX_NUM_FORMS": 1000,
        }
    )
    return data


def change_url(note) -> str:
    return f"/admin/clinical/visitnote/{note.pk}/change/"


def test_the_doctor_starts_writes_signs_and_amends_a_note_from_the_appointment_page(visit, doctor_binh):
    doctor = client_for(doctor_binh.user)
    page = doctor.get(f"/admin/booking/appointment/{visit.pk}/change/")
    assert "Write the visit note" in page.content.decode()
    assert not VisitNote.objects.exists()  # showing the button starts nothing

    started = doctor.post(f"/admin/clinical/visitnote/start/{visit.pk}/", {"_form_submitted": "on"})
    note = VisitNote.objects.get(appointment=visit)
    assert started.url == change_url(note)

    saved = doctor.post(
        change_url(note),
        note_form(
            note,
            subjective="Wheezing at night",
            assessment="Allergic asthma",
            plan="Inhaler, review in 4 weeks",
            pulse_bpm="88",
            temperature_c="36.8",
            diagnoses=[("j45.0", "dust")],
            lines=[{"medicine": "Budesonide inhaler", "strength": "200 mcg", "frequency": "twice a day"}],
        ),
    )
    assert saved.status_code == 302, saved.content.decode()[:3000]
    note.refresh_from_db()
    assert (note.assessment, note.pulse_bpm, note.status) == ("Allergic asthma", 88, "draft")
    assert [d.code for d in note.diagnoses.all()] == ["J45.0"]
    assert note.prescription_lines.get().medicine == "Budesonide inhaler"

    doctor.post(f"/admin/clinical/visitnote/{note.pk}/sign_detail/", {"_form_submitted": "on"})
    note.refresh_from_db()
    assert (note.status, note.version) == ("signed", 1)

    # a change without a reason is refused by the form; with one it is version 2
    refused = doctor.post(
        change_url(note),
        note_form(
            note,
            assessment="Allergic asthma, moderate",
            plan=note.plan,
            subjective=note.subjective,
            pulse_bpm="88",
            temperature_c="36.8",
        ),
    )
    assert refused.status_code == 200
    assert VisitNote.objects.get(pk=note.pk).version == 1
    amended = doctor.post(
        change_url(note),
        note_form(
            note,
            assessment="Allergic asthma, moderate",
            plan=note.plan,
            subjective=note.subjective,
            pulse_bpm="88",
            temperature_c="36.8",
            amendment_reason="Severity corrected",
        ),
    )
    assert amended.status_code == 302
    note.refresh_from_db()
    assert (note.version, note.assessment) == (2, "Allergic asthma, moderate")
    assert note.versions.get(number=2).reason == "Severity corrected"
    history = doctor.get(change_url(note)).content.decode()
    assert "Severity corrected" in history and "Allergic asthma, moderate" in history


def test_an_invalid_icd10_code_is_a_form_error_not_a_500(visit, doctor_binh):
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    response = client_for(doctor_binh.user).post(change_url(note), note_form(note, diagnoses=[("Q99.999", "")]))
    assert response.status_code == 200
    assert "not an ICD-10 diagnosis code" in response.content.decode()
    assert not note.diagnoses.exists()


def signed_note(visit, doctor):
    from tests.workflows.clinical.helpers import asthma_note

    note = svc.visit_note_start(appointment=visit, actor=doctor.user)
    svc.visit_note_save_draft(note=note, actor=doctor.user, content=asthma_note())
    return svc.visit_note_sign(note=note, actor=doctor.user)


def test_another_doctor_of_the_patient_reads_the_note_and_the_read_is_audited(visit, doctor_binh, doctor_giang):
    note = signed_note(visit, doctor_binh)
    page = client_for(doctor_giang.user).get(change_url(note))
    assert page.status_code == 200
    assert "Allergic asthma, mild persistent" in page.content.decode()
    assert "sign_detail" not in page.content.decode()
    entry = AuditLog.objects.get(action="clinical.visit_note.viewed")
    assert (entry.actor, entry.object_id, entry.data["where"]) == (doctor_giang.user, str(note.pk), "admin")
    # read-only for them: a post changes nothing
    client_for(doctor_giang.user).post(change_url(note), note_form(note, assessment="mine", amendment_reason="x"))
    assert VisitNote.objects.get(pk=note.pk).assessment == "Allergic asthma, mild persistent"


def test_a_doctor_who_never_saw_the_patient_finds_no_note(visit, doctor_binh, doctor_hai):
    note = signed_note(visit, doctor_binh)
    response = client_for(doctor_hai.user).get(change_url(note))
    assert response.status_code == 302  # the admin's "does not exist" redirect
    assert "Allergic" not in client_for(doctor_hai.user).get(response.url).content.decode()
    assert not AuditLog.objects.filter(action="clinical.visit_note.viewed").exists()


def test_staff_see_that_a_note_exists_but_not_what_it_says(visit, doctor_binh, staff_binh):
    note = signed_note(visit, doctor_binh)
    staff = client_for(staff_binh)
    appointment_page = staff.get(f"/admin/booking/appointment/{visit.pk}/change/").content.decode()
    assert "Signed (version 1)" in appointment_page
    assert "Open the visit note" not in appointment_page
    note_page = staff.get(change_url(note))
    assert note_page.status_code == 200
    body = note_page.content.decode()
    assert "asthma" not in body.lower() and "Budesonide" not in body
    assert not AuditLog.objects.filter(action="clinical.visit_note.viewed").exists()
    assert staff.get("/admin/clinical/clinicalrecordaccess/").status_code == 403


def test_staff_may_read_notes_when_the_clinic_grants_it(visit, doctor_binh, staff_binh, settings):
    settings.CLINICAL_STAFF_READ_NOTES = True
    note = signed_note(visit, doctor_binh)
    assert "Allergic asthma" in client_for(staff_binh).get(change_url(note)).content.decode()


def test_admins_read_the_audit_of_the_clinical_record(visit, doctor_binh, admin_an):
    note = signed_note(visit, doctor_binh)
    client_for(doctor_binh.user).get(change_url(note))
    audit = client_for(admin_an).get("/admin/clinical/clinicalrecordaccess/").content.decode()
    assert "clinical.visit_note.viewed" in audit and "clinical.visit_note.signed" in audit


def test_icd10_search_by_code_and_by_words(doctor_binh):
    doctor = client_for(doctor_binh.user)
    by_code = doctor.get("/admin/clinical/visitnote/icd10/", {"q": "j45.0"}).content.decode()
    assert "Predominantly allergic asthma" in by_code
    by_words = doctor.get("/admin/clinical/visitnote/icd10/", {"q": "allergic asthma"}).content.decode()
    assert "J45.0" in by_words and "Nonallergic" not in by_words


def test_the_workspace_speaks_vietnamese(visit, doctor_binh):
    doctor_binh.user.language = "vi"
    doctor_binh.user.save(update_fields=["language"])
    doctor = client_for(doctor_binh.user)
    assert "Viết ghi chú khám bệnh" in doctor.get(f"/admin/booking/appointment/{visit.pk}/change/").content.decode()
    note = signed_note(visit, doctor_binh)
    page = doctor.get(change_url(note)).content.decode()
    assert "Dấu hiệu sinh tồn" in page and "kế hoạch điều trị" in page.lower()


def test_the_video_page_opens_the_note_beside_the_call_for_the_doctor_only(visit, doctor_binh, patient_dao):
    note_link = f"/admin/clinical/visitnote/start/{visit.pk}/"
    doctor_page = client_for(doctor_binh.user).get(f"/portal/visits/{visit.public_id}/video/")
    assert doctor_page.status_code == 200 and note_link in doctor_page.content.decode()
    patient_page = client_for(patient_dao).get(f"/portal/visits/{visit.public_id}/video/")
    assert patient_page.status_code == 200 and note_link not in patient_page.content.decode()


def test_the_treating_doctor_can_go_from_the_plan_to_a_follow_up_suggestion(visit, doctor_binh, doctor_giang):
    note = signed_note(visit, doctor_binh)
    follow_up = f"/admin/booking/appointment/{visit.pk}/suggest_follow_up_detail/"
    assert follow_up in client_for(doctor_binh.user).get(change_url(note)).content.decode()
    assert follow_up not in client_for(doctor_giang.user).get(change_url(note)).content.decode()


def test_notes_are_found_by_patient_name_although_their_text_is_encrypted(visit, doctor_binh, staff_binh):
    note = signed_note(visit, doctor_binh)
    staff = client_for(staff_binh)
    found = staff.get("/admin/clinical/visitnote/", {"q": visit.last_name}).content.decode()
    assert change_url(note) in found
    assert (
        change_url(note) not in staff.get("/admin/clinical/visitnote/", {"q": "nobody-by-this-name"}).content.decode()
    )


def test_notes_are_filtered_by_doctor_and_date(visit, doctor_binh, doctor_giang, staff_binh):
    note = signed_note(visit, doctor_binh)
    staff = client_for(staff_binh)
    day = visit.starts_at.astimezone().date()
    listing = staff.get(
        "/admin/clinical/visitnote/",
        {"appointment__doctor__id__exact": doctor_binh.pk, "appointment__starts_at_from": day.strftime("%d/%m/%Y")},
    )
    assert listing.status_code == 200 and change_url(note) in listing.content.decode()
    other = staff.get("/admin/clinical/visitnote/", {"appointment__doctor__id__exact": doctor_giang.pk})
    assert change_url(note) not in other.content.decode()
