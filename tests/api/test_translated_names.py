"""Issue 18 item 5: specialty and visit-type names are data kept per language; the API gives them in
the caller's language (Accept-Language), English when no translation is stored."""

from __future__ import annotations

import pytest

from booking.models import AppointmentType, Specialty

pytestmark = pytest.mark.django_db


def _names(client, path, language, **params):
    answer = client.get(path, params, HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == 200
    assert "Accept-Language" in answer.get("Vary", "")  # caches keep one copy per language
    return answer.json()


def test_specialty_and_service_names_follow_accept_language(client):
    kids = Specialty.objects.create(name="Pediatrics", name_vi="Nhi khoa", slug="pediatrics")
    Specialty.objects.create(name="Dermatology", slug="dermatology")  # no Vietnamese name stored
    visit = AppointmentType.objects.create(name="Video consultation", name_vi="Khám qua video", mode="video")
    english = _names(client, "/api/v1/specialties", "en")
    assert [s["name"] for s in english["items"]] == ["Dermatology", "Pediatrics"]
    vietnamese = _names(client, "/api/v1/specialties", "vi")
    assert [s["name"] for s in vietnamese["items"]] == ["Dermatology", "Nhi khoa"]
    assert _names(client, f"/api/v1/specialties/{kids.pk}", "vi-VN,vi;q=0.9")["name"] == "Nhi khoa"
    assert _names(client, f"/api/v1/specialties/{kids.pk}", "en-US,en;q=0.9")["name"] == "Pediatrics"
    assert _names(client, f"/api/v1/services/{visit.pk}", "vi")["name"] == "Khám qua video"
    assert _names(client, f"/api/v1/services/{visit.pk}", "en")["name"] == "Video consultation"
    # a search finds a name in either language
    assert [s["id"] for s in _names(client, "/api/v1/specialties", "en", q="nhi")["items"]] == [kids.pk]
    assert [s["id"] for s in _names(client, "/api/v1/services", "vi", q="qua video")["items"]] == [visit.pk]


def test_the_doctor_search_names_specialties_in_the_callers_language(client, doctor_binh, slots):
    doctor_binh.specialties.set([Specialty.objects.create(name="Cardiology", name_vi="Tim mạch", slug="cardiology")])
    for language, name in (("vi", "Tim mạch"), ("en", "Cardiology")):
        items = _names(client, "/api/v1/doctors", language)["items"]
        assert [s["name"] for s in items[0]["specialties"]] == [name]
