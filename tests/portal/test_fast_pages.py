"""The booking page's picker (written in Python, read as rows: ``portal.picker``) and the visit page
(which reads only the records ``visit_records_present`` finds) show what the database holds on every
load: nothing is remembered between requests (issue 19)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment
from portal.clinical import visit_records_present
from tests.booking.appointments.helpers import completed_visit, details_for
from tests.factories import FacilityFactory, make_user, publish_slots
from workflows.clinical import services as clinical
from workflows.operations.models import VisitRating

pytestmark = pytest.mark.django_db


def _day(slot) -> str:
    return timezone.localtime(slot.start).date().isoformat()


def test_a_time_booked_by_someone_else_leaves_the_picker_on_the_next_load(client, patient_lan, doctor_binh, week_slots):
    client.force_login(patient_lan)
    url = f"/portal/book/{doctor_binh.pk}/?day={_day(week_slots[0])}"
    taken = week_slots[1]
    assert f'value="{taken.pk}"' in client.get(url).content.decode()
    other = make_user("other.patient@example.test", "patient")
    svc.appointment_book(slot=taken, patient=other, actor=other, details=details_for(other))
    page = client.get(url).content.decode()
    assert f'value="{taken.pk}"' not in page
    assert f'value="{week_slots[2].pk}"' in page  # the rest of the day is still offered


def test_a_cancelled_time_comes_back_to_the_picker_on_the_next_load(client, patient_lan, doctor_binh, week_slots):
    client.force_login(patient_lan)
    url = f"/portal/book/{doctor_binh.pk}/?day={_day(week_slots[0])}"
    other = make_user("other.patient@example.test", "patient")
    booked = svc.appointment_book(slot=week_slots[3], patient=other, actor=other, details=details_for(other))
    assert f'value="{week_slots[3].pk}"' not in client.get(url).content.decode()
    svc.appointment_cancel(appointment=booked, actor=other, reason="Cannot come")
    assert f'value="{week_slots[3].pk}"' in client.get(url).content.decode()


def test_the_picker_escapes_the_place_name_and_marks_the_chosen_time(client, patient_lan, doctor_binh):
    facility = FacilityFactory(name='Clinic <b>"A&B"</b>')
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    slots = publish_slots(doctor_binh, start=start, count=2, facility=facility)
    client.force_login(patient_lan)
    page = client.get(f"/portal/book/{doctor_binh.pk}/?slot={slots[1].pk}").content.decode()
    assert "Clinic &lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;" in page
    assert "<b>" not in page.split('picker-slots"', 1)[1].split("</ul>", 1)[0]
    assert f'class="picker-slot selected" value="{slots[1].pk}" aria-pressed="true"' in page
    assert f'class="picker-slot" value="{slots[0].pk}" aria-pressed="false"' in page
    assert 'name="choose_slot"' in page  # a patient's page: a time button submits the details form


def test_the_visit_page_shows_an_intake_as_soon_as_it_is_saved(client, patient_lan, week_slots):
    appointment = svc.appointment_book(
        slot=week_slots[0], patient=patient_lan, actor=patient_lan, details=details_for(patient_lan)
    )
    client.force_login(patient_lan)
    url = f"/portal/appointments/{appointment.public_id}/"
    assert visit_records_present(appointment).intake is False
    assert "Dizzy since Monday" not in client.get(url).content.decode()
    clinical.intake_save(
        appointment=appointment, actor=patient_lan, reason="Dizzy since Monday", symptoms="", current_medicines=""
    )
    assert visit_records_present(appointment).intake is True
    assert "Dizzy since Monday" in client.get(url).content.decode()


def test_the_visit_page_offers_the_rating_once_the_visit_is_invited(client, patient_lan, doctor_binh):
    visit = completed_visit(doctor_binh, patient_lan)
    client.force_login(patient_lan)
    url = f"/portal/appointments/{visit.public_id}/"
    rate = f"/portal/appointments/{visit.public_id}/rate/"
    assert rate not in client.get(url).content.decode()
    VisitRating.objects.create(
        appointment=visit, doctor_id=visit.doctor_id, patient_id=visit.patient_id, invited_at=timezone.now()
    )
    assert visit_records_present(visit).rating is True
    assert rate in client.get(url).content.decode()


def test_another_patients_visit_page_answers_404(client, patient_lan, week_slots):
    other = make_user("other.patient@example.test", "patient")
    theirs = svc.appointment_book(slot=week_slots[0], patient=other, actor=other, details=details_for(other))
    client.force_login(patient_lan)
    assert client.get(f"/portal/appointments/{theirs.public_id}/").status_code == 404
    assert Appointment.objects.filter(pk=theirs.pk).exists()
