"""The treatment plan: goals and follow-up steps written with the note, frozen with it and changed only by
an amendment (the history shows each version's plan); the patient reads them in the visit summary; the
treating doctor starts a follow-up suggestion from a step, with the step's date filled in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import translation
from django.utils.html import escape

from booking.models import Appointment, AppointmentStatus
from core.dates import day_text
from core.errors import InvalidInput
from tests.workflows.clinical.helpers import asthma_note, review_day
from tests.workflows.clinical.test_admin import change_url, client_for, note_form
from workflows.clinical import services as svc
from workflows.clinical.models import PlanItem
from workflows.clinical.services import PlanEntry

pytestmark = pytest.mark.django_db


def signed(visit, doctor, content=None):
    note = svc.visit_note_start(appointment=visit, actor=doctor.user)
    svc.visit_note_save_draft(note=note, actor=doctor.user, content=content or asthma_note())
    return svc.visit_note_sign(note=note, actor=doctor.user)


def test_goals_and_steps_are_written_with_the_draft_in_order_and_encrypted(visit, doctor_binh):
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    svc.visit_note_save_draft(note=note, actor=doctor_binh.user, content=asthma_note())
    items = list(note.plan_items.all())
    assert [(i.kind, i.text, i.due_date) for i in items] == [
        ("goal", "Nights without wheezing", None),
        ("step", "Review the inhaler technique", review_day()),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM clinical_planitem WHERE id = %s", [items[1].pk])
        assert "inhaler" not in cursor.fetchone()[0]


def test_a_plan_item_needs_a_known_kind_a_text_and_a_real_date(visit, doctor_binh):
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    for bad in (
        PlanEntry(kind="wish", text="Sleep"),
        PlanEntry(kind="goal", text="   "),
        PlanEntry(kind="step", text="Review", due_date="2026-02-30"),
    ):
        with pytest.raises(InvalidInput):
            svc.visit_note_save_draft(note=note, actor=doctor_binh.user, content=asthma_note(plan_items=(bad,)))
    assert not PlanItem.objects.exists()


def test_the_plan_is_frozen_at_signing_and_an_amendment_changes_it_with_the_history_keeping_both(visit, doctor_binh):
    note = signed(visit, doctor_binh)
    new_step = PlanEntry(kind="step", text="Spirometry", due_date=review_day() + timedelta(days=14))
    amended = asthma_note(plan_items=(*asthma_note().plan_items, new_step))
    svc.visit_note_amend(note=note, actor=doctor_binh.user, content=amended, reason="Add spirometry")
    note.refresh_from_db()
    assert [i.text for i in note.plan_items.all()] == [
        "Nights without wheezing",
        "Review the inhaler technique",
        "Spirometry",
    ]
    history = [svc.content_from_json(v.content).plan_items for v in note.versions.order_by("number")]
    assert [len(items) for items in history] == [2, 3]
    assert history[1][2] == new_step  # the date survives the JSON round trip
    # only the plan changed: still an amendment (not "changes nothing")
    assert note.version == 2


def test_a_version_frozen_before_plans_were_structured_reads_with_no_items():
    assert svc.content_from_json('{"assessment": "x", "vitals": {}}').plan_items == ()


def test_the_doctor_writes_plan_items_in_the_admin_and_the_history_shows_them(visit, doctor_binh):
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    doctor = client_for(doctor_binh.user)
    day = review_day().isoformat()
    saved = doctor.post(
        change_url(note),
        note_form(
            note,
            assessment="Allergic asthma",
            plan_items=[("goal", "Nights without wheezing", ""), ("step", "Review the inhaler technique", day)],
        ),
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert [(i.kind, i.due_date) for i in note.plan_items.all()] == [("goal", None), ("step", review_day())]
    doctor.post(f"/admin/clinical/visitnote/{note.pk}/sign_detail/", {"_form_submitted": "on"})
    page = doctor.get(change_url(note)).content.decode()
    assert "Goals and follow-up steps:" in page and "Review the inhaler technique" in page


def test_a_step_starts_a_follow_up_suggestion_with_its_date_for_the_treating_doctor_only(
    visit, doctor_binh, doctor_giang
):
    note = signed(visit, doctor_binh)
    day = review_day()
    link = f"/admin/booking/appointment/{visit.pk}/suggest_follow_up_detail/?suggested_date={day.isoformat()}"
    doctor = client_for(doctor_binh.user)
    page = doctor.get(change_url(note)).content.decode()
    assert "Start a follow-up suggestion" in page and link.replace("&", "&amp;") in page
    assert link not in client_for(doctor_giang.user).get(change_url(note)).content.decode()

    form = doctor.get(link)
    assert form.status_code == 200
    assert f'value="{day.isoformat()}"' in form.content.decode()
    assert not Appointment.objects.filter(parent=visit).exists()  # opening the form suggests nothing

    doctor.post(link, {"_form_submitted": "on", "suggested_date": day.isoformat(), "notes": ""})
    suggestion = Appointment.objects.get(parent=visit)
    assert (suggestion.status, suggestion.suggested_date) == (AppointmentStatus.PENDING_PATIENT_CONFIRMATION, day)


def test_no_follow_up_link_from_a_visit_that_has_not_started(doctor_binh, patient_dao):
    from django.utils import timezone

    from booking import services as booking
    from tests.booking.appointments.helpers import _front_desk, details_for
    from tests.factories import publish_slots

    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    slot = publish_slots(doctor_binh, start=start, count=1)[0]
    visit = booking.appointment_book(
        slot=slot, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    booking.payment_mark_cash_paid(appointment=visit, actor=_front_desk())
    visit.refresh_from_db()
    if visit.status == AppointmentStatus.PENDING:
        booking.appointment_confirm(appointment=visit, actor=doctor_binh.user)
        visit.refresh_from_db()
    assert visit.status == AppointmentStatus.CONFIRMED
    note = signed(visit, doctor_binh)
    page = client_for(doctor_binh.user).get(change_url(note)).content.decode()
    assert "Start a follow-up suggestion" not in page


def test_the_patient_reads_goals_and_steps_in_the_visit_summary_and_my_health(visit, doctor_binh, patient_dao):
    signed(visit, doctor_binh)
    patient = client_for(patient_dao)
    with translation.override("en"):
        when = escape(day_text(review_day()))  # the one date style (core.dates)
    page = patient.get(f"/portal/appointments/{visit.public_id}/").content.decode()
    for text in ("Goals", "Nights without wheezing", "Follow-up steps", "Review the inhaler technique", when):
        assert text in page, text
    health = patient.get("/portal/profile/medical-record/").content.decode()
    assert "Review the inhaler technique" in health


def test_the_plan_speaks_vietnamese_to_the_patient_and_the_doctor(visit, doctor_binh, patient_dao):
    note = signed(visit, doctor_binh)
    for user in (patient_dao, doctor_binh.user):
        user.language = "vi"
        user.save(update_fields=["language"])
    page = client_for(patient_dao).get(f"/portal/appointments/{visit.public_id}/").content.decode()
    assert "Mục tiêu" in page and "Các bước theo dõi" in page and "trước ngày" in page
    workspace = client_for(doctor_binh.user).get(change_url(note)).content.decode()
    assert "Đề xuất tái khám" in workspace and "Mục tiêu và các bước theo dõi:" in workspace
