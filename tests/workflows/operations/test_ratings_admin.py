"""Ratings in the admin: staff moderate comments; a doctor sees the feedback on their own visits."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.booking.appointments.helpers import completed_visit, make_doctor
from tests.factories import make_user
from workflows.operations.models import Moderation, VisitRating
from workflows.operations.services import rating_invite_completed, rating_submit


@pytest.fixture
def doctor_binh(db):
    return make_doctor("binh.doctor@clinic.test")


def rate(doctor, email, score, comment="", days_ago=1):
    patient = make_user(email, "patient", first_name="Lan", last_name="Hoàng")
    visit = completed_visit(doctor, patient, days_ago=days_ago)
    rating_invite_completed()
    return rating_submit(
        rating=VisitRating.objects.get(appointment=visit), patient=patient, score=score, comment=comment
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client, url, data=None):
    client.get(url)
    return client.post(url, {"_form_submitted": "on", **(data or {})})


def test_staff_publish_then_withhold_a_comment(doctor_binh, staff_binh):
    rating = rate(doctor_binh, "lan@example.test", 5, "Very kind")
    client = signed_in(staff_binh)
    listing = client.get("/admin/operations/visitrating/?moderation=pending").content.decode()
    assert "Very kind" in listing and 'href="/admin/operations/visitrating/"' in client.get("/admin/").content.decode()
    post(client, f"/admin/operations/visitrating/{rating.pk}/publish_detail/")
    assert VisitRating.objects.get(pk=rating.pk).moderation == Moderation.APPROVED
    post(client, f"/admin/operations/visitrating/{rating.pk}/withhold_detail/")
    assert VisitRating.objects.get(pk=rating.pk).moderation == Moderation.REJECTED


def test_a_doctor_sees_their_feedback_without_patient_names_and_cannot_moderate(doctor_binh):
    mine = [
        rate(doctor_binh, f"p{n}@example.test", score, f"Comment {n}", days_ago=n + 1)
        for n, score in enumerate([5, 4, 4])
    ]
    other = make_doctor("giang.doctor@clinic.test")
    theirs = rate(other, "q@example.test", 1, "Not mine")
    client = signed_in(doctor_binh.user)
    assert 'href="/admin/operations/visitrating/"' in client.get("/admin/").content.decode()  # "My feedback"
    html = client.get("/admin/operations/visitrating/").content.decode()
    assert "Comment 0" in html and "Not mine" not in html and "Hoàng" not in html
    assert "Your rating: 4.3 / 5 from 3 ratings" in html
    assert client.get(f"/admin/operations/visitrating/{theirs.pk}/change/").status_code == 302
    assert "Hoàng" not in client.get(f"/admin/operations/visitrating/{mine[0].pk}/change/").content.decode()
    post(client, f"/admin/operations/visitrating/{mine[0].pk}/publish_detail/")
    assert VisitRating.objects.get(pk=mine[0].pk).moderation == Moderation.PENDING


def test_below_three_ratings_the_doctor_sees_the_count_only(doctor_binh):
    rate(doctor_binh, "lan@example.test", 5)
    html = signed_in(doctor_binh.user).get("/admin/operations/visitrating/").content.decode()
    assert "1 rating so far; the average is shown from 3 ratings." in html


def test_the_feedback_page_is_translated(doctor_binh):
    doctor_binh.user.language = "vi"
    doctor_binh.user.save(update_fields=["language"])
    client = signed_in(doctor_binh.user)
    client.cookies["django_language"] = "vi"
    assert "Chưa có bệnh nhân nào đánh giá" in client.get("/admin/operations/visitrating/").content.decode()
