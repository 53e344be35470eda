"""Ratings in the API: the directory (``GET /api/v1/doctors``) carries each doctor's count and average,
and ``GET /api/v1/doctor/{id}/ratings`` adds the approved comments; both are public reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.booking.appointments.helpers import completed_visit, make_doctor
from tests.factories import make_user, publish_slots
from workflows.operations.models import VisitRating
from workflows.operations.services import rating_invite_completed, rating_moderate, rating_submit


@pytest.fixture
def doctor_binh(db):
    doctor = make_doctor("binh.doctor@clinic.test")
    publish_slots(doctor, start=(timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0))
    return doctor


def rate(doctor, scores, comment=""):
    ratings = []
    for n, score in enumerate(scores):
        patient = make_user(f"api-rater{n}@example.test", "patient", first_name="Lan", last_name="Hoàng")
        visit = completed_visit(doctor, patient, days_ago=n + 1)
        rating_invite_completed()
        rating = VisitRating.objects.get(appointment=visit)
        ratings.append(rating_submit(rating=rating, patient=patient, score=score, comment=comment))
    return ratings


def directory_item(doctor):
    [item] = [d for d in Client().get("/api/v1/doctors").json()["items"] if d["id"] == doctor.pk]
    return item


def test_the_directory_shows_the_count_and_from_three_ratings_the_average(doctor_binh):
    assert directory_item(doctor_binh)["rating"] == {"count": 0, "average": None}
    rate(doctor_binh, [5, 4])
    assert directory_item(doctor_binh)["rating"] == {"count": 2, "average": None}
    rate_more = make_user("api-rater-late@example.test", "patient")
    visit = completed_visit(doctor_binh, rate_more, days_ago=6)
    rating_invite_completed()
    rating_submit(rating=VisitRating.objects.get(appointment=visit), patient=rate_more, score=4)
    assert directory_item(doctor_binh)["rating"] == {"count": 3, "average": "4.3"}


def test_a_doctors_ratings_list_only_approved_comments(doctor_binh, staff_binh):
    shown, hidden, waiting = rate(doctor_binh, [5, 2, 4], comment="Clear advice")
    rating_moderate(rating=shown, actor=staff_binh, approve=True)
    rating_moderate(rating=hidden, actor=staff_binh, approve=False)
    response = Client().get(f"/api/v1/doctor/{doctor_binh.pk}/ratings")
    assert response.status_code == 200
    body = response.json()
    assert body["doctorId"] == doctor_binh.pk and body["count"] == 3 and body["average"] == "3.7"
    assert body["minRatings"] == 3
    assert [(c["score"], c["comment"]) for c in body["comments"]] == [(5, "Clear advice")]
    assert "Hoàng" not in response.content.decode()
    assert "no-store" not in response.get("Cache-Control", "")  # a public read


def test_an_unknown_doctor_answers_404_in_the_api_shape(db):
    response = Client().get("/api/v1/doctor/999999/ratings")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_portals_doctor_search_shows_the_rating(doctor_binh, patient_dao):
    rate(doctor_binh, [5, 4, 4])
    client = Client()
    client.force_login(patient_dao)
    html = client.get("/portal/doctors/", follow=True).content.decode()  # the one directory
    assert "4.3 / 5 (3 ratings)" in html
