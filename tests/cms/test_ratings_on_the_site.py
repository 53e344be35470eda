"""Patients' ratings on the public site: the profile and the directory show the count, the average from
three ratings (with ``AggregateRating`` in the profile's JSON-LD), and approved comments only."""

from __future__ import annotations

from booking.models import Doctor
from tests.booking.appointments.helpers import completed_visit
from tests.cms.test_public_pages import html_of, jsonld
from tests.factories import make_user
from workflows.operations.models import VisitRating
from workflows.operations.services import rating_invite_completed, rating_moderate, rating_submit


def rate(doctor, scores_and_comments):
    Doctor.objects.filter(pk=doctor.pk).update(auto_confirm=True)
    doctor.refresh_from_db()
    ratings = []
    for n, (score, comment) in enumerate(scores_and_comments):
        patient = make_user(f"rater{doctor.pk}-{n}@example.test", "patient", first_name="Lan", last_name="Hoàng")
        visit = completed_visit(doctor, patient, days_ago=n + 1)
        rating_invite_completed()
        rating = VisitRating.objects.get(appointment=visit)
        ratings.append(rating_submit(rating=rating, patient=patient, score=score, comment=comment))
    return ratings


def test_two_ratings_show_a_count_but_no_average(client, chau_profile, dr_chau):
    rate(dr_chau, [(5, ""), (4, "")])
    html = html_of(client.get(chau_profile.url))
    assert "2 ratings" in html and "/ 5" not in html
    [data] = jsonld(html)
    assert "aggregateRating" not in data


def test_three_ratings_show_the_average_and_aggregate_rating(client, chau_profile, dr_chau, directory):
    rate(dr_chau, [(5, ""), (4, ""), (4, "")])
    html = html_of(client.get(chau_profile.url))
    assert "4.3 / 5 (3 ratings)" in html
    [data] = jsonld(html)
    assert data["aggregateRating"] == {
        "@type": "AggregateRating",
        "ratingValue": "4.3",
        "ratingCount": 3,
        "bestRating": 5,
        "worstRating": 1,
    }
    assert "4.3 / 5 (3 ratings)" in html_of(client.get(directory.url))


def test_only_approved_comments_show_and_without_names(client, chau_profile, dr_chau, staff_binh):
    published, waiting, withheld = rate(dr_chau, [(5, "Listened well"), (4, "Still waiting"), (1, "Rude words")])
    rating_moderate(rating=published, actor=staff_binh, approve=True)
    rating_moderate(rating=withheld, actor=staff_binh, approve=False)
    html = html_of(client.get(chau_profile.url))
    assert "Listened well" in html and "Still waiting" not in html and "Rude words" not in html
    assert "Hoàng" not in html and "A patient" in html


def test_the_ratings_are_translated(client, chau_profile, dr_chau):
    rate(dr_chau, [(5, ""), (4, ""), (4, "")])
    client.cookies["django_language"] = "vi"
    html = html_of(client.get(chau_profile.url))
    assert "Đánh giá của bệnh nhân" in html and "lượt đánh giá" in html
