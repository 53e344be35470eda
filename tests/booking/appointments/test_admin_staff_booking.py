"""Issue 18 item 8: the front desk books for a patient: find them (name, phone, ID) or register them on
the spot, then doctor → day → a free time; the week grid's free cell pre-picks the time."""

from __future__ import annotations

import re

from django.conf import settings

from accounts.models import User
from booking.models import Appointment, AppointmentStatus

S = AppointmentStatus
BOOK = "/admin/booking/appointment/book/"


def test_the_patient_lookup_finds_by_name_phone_and_id(client, patient_dao, staff_binh, doctor_binh):
    profile = patient_dao.patient_profile
    profile.phone, profile.national_id = "0901234567", "079123456789"
    profile.save(update_fields=["phone", "national_id"])
    client.force_login(staff_binh)
    for query in (patient_dao.first_name, "0901234", "0791234", f"{patient_dao.last_name} {patient_dao.first_name}"):
        found = client.get(f"{BOOK}patients/", {"q": query}).json()["patients"]
        assert [row["id"] for row in found] == [patient_dao.pk], query
        assert found[0]["phone"] == "0901234567" and found[0]["national_id"] == "079123456789"
    assert client.get(f"{BOOK}patients/", {"q": "nobody-like-this"}).json() == {"patients": []}
    assert client.get(f"{BOOK}patients/", {"q": "x"}).json() == {"patients": []}  # too short to search
    client.force_login(doctor_binh.user)  # doctors do not book for patients, nor look them up here
    assert client.get(f"{BOOK}patients/", {"q": patient_dao.first_name}).status_code == 404


def test_a_free_cell_of_the_week_grid_pre_picks_doctor_day_and_time(client, slots, staff_binh, doctor_binh):
    client.force_login(staff_binh)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    grid = client.get(f"/admin/booking/availability/week/?doctor={doctor_binh.pk}&week={slots[0].start.date()}")
    assert f"{BOOK}?slot={slots[0].pk}" in grid.content.decode()
    page = client.get(BOOK, {"slot": slots[0].pk}).content.decode()
    assert re.search(rf'<input type="radio" name="slot" value="{slots[0].pk}"\s*checked', page)
    assert f'<option value="{doctor_binh.pk}" selected>' in page
    # the other free times of that day are offered too, as a grid of times
    assert len(re.findall(r'<input type="radio" name="slot"', page)) >= 2


def test_a_new_patient_is_registered_and_booked_in_one_step(client, slots, staff_binh):
    client.force_login(staff_binh)
    response = client.post(
        BOOK,
        {
            "new_first_name": "Mai",
            "new_last_name": "Trần",
            "new_phone": "0912 345 678",
            "new_national_id": "079200000123",
            "slot": slots[1].pk,
            "reason": "Fever",
        },
    )
    assert response.status_code == 302, re.findall(r'role="alert"[^>]*>([^<]*)', response.content.decode())
    patient = User.objects.get(patient_profile__national_id="079200000123")
    visit = Appointment.objects.get(slot=slots[1])
    assert visit.patient == patient and visit.status == S.PENDING_PAYMENT and visit.patient_name == "Trần Mai"
    # the same person again is recognised, not registered twice
    response = client.post(
        BOOK, {"new_first_name": "Mai", "new_last_name": "Trần", "new_phone": "0912345678", "slot": slots[2].pk}
    )
    assert response.status_code == 200 and "Already registered" in response.content.decode()
    assert User.objects.filter(patient_profile__phone__in=["0912 345 678", "0912345678"]).count() == 1
    assert not Appointment.objects.filter(slot=slots[2]).exists()


def test_booking_needs_a_patient(client, slots, staff_binh):
    client.force_login(staff_binh)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(BOOK, {"slot": slots[0].pk})
    assert response.status_code == 200
    assert "Pick a patient, or fill in the new patient" in response.content.decode()
    assert not Appointment.objects.filter(slot=slots[0]).exists()
