"""Ratings and feedback: a completed visit's patient is invited once, rates 1–5 with an optional
comment, staff moderate comments, and the averages count only completed visits (at least three)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from booking.models import Appointment
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.models import OutboxMessage
from tests.booking.appointments.helpers import completed_visit, make_doctor
from tests.factories import make_user
from workflows.messages import render_message
from workflows.operations.models import Moderation, VisitRating
from workflows.operations.selectors import (
    doctor_feedback,
    published_comments,
    rating_summaries,
    rating_summary,
    ratings_to_give,
)
from workflows.operations.services import (
    RATING_WINDOW,
    rating_invite_completed,
    rating_moderate,
    rating_submit,
)
from workflows.schedules import PERIODIC_TASKS


@pytest.fixture
def doctor_binh(db):
    return make_doctor("binh.doctor@clinic.test")


@pytest.fixture
def visit(doctor_binh, patient_dao):
    return completed_visit(doctor_binh, patient_dao, days_ago=1)


def invited(visit) -> VisitRating:
    rating_invite_completed()
    return VisitRating.objects.get(appointment=visit)


_numbers = itertools.count(1)


def patient(n: int | None = None):
    n = next(_numbers) if n is None else n
    return make_user(f"patient{n}@example.test", "patient", first_name=f"P{n}")


def rated_visits(doctor, scores, *, days_ago=1):
    """One completed visit per score, by a different patient each, rated through the services."""
    ratings = []
    for n, score in enumerate(scores):
        visit = completed_visit(doctor, patient(), days_ago=days_ago + n)
        rating_invite_completed()
        rating = VisitRating.objects.get(appointment=visit)
        ratings.append(rating_submit(rating=rating, patient=visit.patient, score=score))
    return ratings


def test_a_completed_visit_invites_its_patient_once(visit, patient_dao):
    assert rating_invite_completed() == 1
    assert rating_invite_completed() == 0
    rating = VisitRating.objects.get(appointment=visit)
    assert rating.patient == patient_dao and rating.doctor_id == visit.doctor_id and not rating.is_rated
    [message] = OutboxMessage.objects.filter(kind="rating.invited")
    assert message.recipient == patient_dao
    assert "medbook.rating_invitations" in {task.name for task in PERIODIC_TASKS}


def test_the_database_refuses_a_second_rating_row_for_a_visit(visit):
    rating = invited(visit)
    with pytest.raises(IntegrityError), transaction.atomic():
        VisitRating.objects.create(
            appointment=visit, doctor_id=visit.doctor_id, patient_id=visit.patient_id, invited_at=rating.invited_at
        )


def test_only_completed_visits_are_invited(doctor_binh, patient_dao, visit):
    Appointment.objects.filter(pk=visit.pk).update(status="no_show")
    assert rating_invite_completed() == 0


def test_old_visits_are_not_invited(doctor_binh, patient_dao):
    completed_visit(doctor_binh, patient_dao, days_ago=20)
    assert rating_invite_completed() == 0


def test_the_invitation_renders_in_the_patients_language(visit, patient_dao):
    invited(visit)
    message = OutboxMessage.objects.get(kind="rating.invited")
    rendered = render_message(message)
    assert str(visit.doctor) in rendered.subject and rendered.link.endswith(f"/appointments/{visit.public_id}/rate/")
    patient_dao.language = "vi"
    patient_dao.save(update_fields=["language"])
    message.refresh_from_db()
    vi = render_message(message)
    assert "Đánh giá" in vi.html and "{{" not in vi.text


def test_the_patient_rates_once_and_a_comment_waits_for_moderation(visit, patient_dao):
    rating = invited(visit)
    saved = rating_submit(rating=rating, patient=patient_dao, score=4, comment="  Kind and clear.  ")
    assert (saved.score, saved.comment, saved.moderation) == (4, "Kind and clear.", Moderation.PENDING)
    with pytest.raises(Conflict):
        rating_submit(rating=rating, patient=patient_dao, score=5)
    assert published_comments(visit.doctor_id) == []


def test_a_rating_without_comment_has_nothing_to_moderate(visit, patient_dao, staff_binh):
    rating = rating_submit(rating=invited(visit), patient=patient_dao, score=5)
    assert rating.moderation == Moderation.NONE
    with pytest.raises(Conflict):
        rating_moderate(rating=rating, actor=staff_binh, approve=True)


@pytest.mark.parametrize("score", [0, 6, -1, True, "5", None])
def test_scores_outside_one_to_five_are_refused(visit, patient_dao, score):
    with pytest.raises(InvalidInput):
        rating_submit(rating=invited(visit), patient=patient_dao, score=score)


def test_someone_else_cannot_rate_the_visit(visit):
    with pytest.raises(PermissionDenied):
        rating_submit(rating=invited(visit), patient=patient(900), score=1)


def test_the_rating_window_closes(visit, patient_dao):
    rating = invited(visit)
    with pytest.raises(PermissionDenied):
        rating_submit(rating=rating, patient=patient_dao, score=3, now=timezone.now() + RATING_WINDOW + timedelta(1))
    assert ratings_to_give(patient_dao) == [rating]
    assert ratings_to_give(patient_dao, now=timezone.now() + RATING_WINDOW + timedelta(days=1)) == []


def test_staff_publish_or_withhold_comments_and_patients_cannot(visit, patient_dao, staff_binh, doctor_binh):
    rating = rating_submit(rating=invited(visit), patient=patient_dao, score=5, comment="Great doctor")
    for intruder in (patient_dao, doctor_binh.user):
        with pytest.raises(PermissionDenied):
            rating_moderate(rating=rating, actor=intruder, approve=True)
    rating_moderate(rating=rating, actor=staff_binh, approve=True)
    assert [r.comment for r in published_comments(visit.doctor_id)] == ["Great doctor"]
    rating_moderate(rating=rating, actor=staff_binh, approve=False)
    assert published_comments(visit.doctor_id) == []


def test_the_average_shows_from_three_ratings_and_counts_only_completed_visits(doctor_binh):
    assert rating_summary(doctor_binh.pk).count == 0
    first_two = rated_visits(doctor_binh, [5, 4])
    summary = rating_summary(doctor_binh.pk)
    assert summary.count == 2 and summary.average is None and not summary.shows_average
    rated_visits(doctor_binh, [4], days_ago=5)
    assert rating_summary(doctor_binh.pk).average == Decimal("4.3")
    # a visit that is no longer completed (corrected to a no-show) stops counting
    Appointment.objects.filter(pk=first_two[0].appointment_id).update(status="no_show")
    assert rating_summary(doctor_binh.pk) == rating_summaries([doctor_binh.pk])[doctor_binh.pk]
    assert rating_summary(doctor_binh.pk).count == 2 and rating_summary(doctor_binh.pk).average is None


def test_a_doctor_sees_all_feedback_on_their_visits(doctor_binh):
    rated = rated_visits(doctor_binh, [2, 5])
    feedback = doctor_feedback(doctor_binh.pk)
    assert {r.pk for r in feedback} == {r.pk for r in rated}


# --- the portal ---------------------------------------------------------------------------------


def test_the_patient_rates_from_the_portal(visit, patient_dao):
    invited(visit)
    client = Client()
    client.force_login(patient_dao)
    detail = client.get(f"/portal/appointments/{visit.public_id}/").content.decode()
    assert f"/portal/appointments/{visit.public_id}/rate/" in detail
    page = client.get(f"/portal/appointments/{visit.public_id}/rate/")
    assert page.status_code == 200 and 'name="score"' in page.content.decode()
    response = client.post(f"/portal/appointments/{visit.public_id}/rate/", {"score": "4", "comment": "Good"})
    assert response.status_code == 302
    rating = VisitRating.objects.get(appointment=visit)
    assert (rating.score, rating.comment) == (4, "Good")
    assert "You rated this visit 4 out of 5." in client.get(f"/portal/appointments/{visit.public_id}/").content.decode()
    again = client.get(f"/portal/appointments/{visit.public_id}/rate/").content.decode()
    assert "already rated" in again and 'name="score"' not in again


def test_the_rating_choices_say_which_end_is_good_in_both_languages(visit, patient_dao):
    invited(visit)
    client = Client()
    client.force_login(patient_dao)
    html = client.get(f"/portal/appointments/{visit.public_id}/rate/").content.decode()
    assert "5 – Excellent" in html and "1 – Very poor" in html
    client.cookies["django_language"] = "vi"
    html = client.get(f"/portal/appointments/{visit.public_id}/rate/").content.decode()
    assert "5 – Rất tốt" in html and "1 – Kém" in html


def test_a_bad_score_is_a_form_error_not_a_500(visit, patient_dao):
    invited(visit)
    client = Client()
    client.force_login(patient_dao)
    response = client.post(f"/portal/appointments/{visit.public_id}/rate/", {"score": "9"})
    assert response.status_code == 200 and not VisitRating.objects.get(appointment=visit).is_rated


def test_another_patient_or_an_uninvited_visit_answers_404(visit, patient_dao):
    client = Client()
    client.force_login(patient_dao)
    assert client.get(f"/portal/appointments/{visit.public_id}/rate/").status_code == 404  # not invited yet
    invited(visit)
    client.force_login(patient(700))
    assert client.get(f"/portal/appointments/{visit.public_id}/rate/").status_code == 404


def test_the_rating_page_is_translated(visit, patient_dao):
    invited(visit)
    client = Client()
    client.force_login(patient_dao)
    client.cookies["django_language"] = "vi"
    html = client.get(f"/portal/appointments/{visit.public_id}/rate/").content.decode()
    assert "Đánh giá lần khám" in html


def test_the_portal_home_invites_to_rate(visit, patient_dao):
    invited(visit)
    client = Client()
    client.force_login(patient_dao)
    assert f"/portal/appointments/{visit.public_id}/rate/" in client.get("/portal/").content.decode()


def test_a_dependants_visit_is_rated_by_the_account_holder(doctor_binh, patient_dao):
    import datetime as dt

    from accounts.family import dependant_add

    minh = dependant_add(
        holder=patient_dao,
        actor=patient_dao,
        first_name="Minh",
        last_name="Nguyễn",
        date_of_birth=dt.date(2018, 3, 14),
        relationship="child",
    )
    visit = completed_visit(doctor_binh, minh, days_ago=1)
    assert rating_invite_completed() == 1 and rating_invite_completed() == 0
    rating = VisitRating.objects.get(appointment=visit)
    # the holder is asked, once; the child's placeholder account never is
    [message] = OutboxMessage.objects.filter(kind="rating.invited")
    assert message.recipient == patient_dao
    assert ratings_to_give(patient_dao) == [rating] and ratings_to_give(minh) == [rating]

    # another patient cannot see or rate it
    lan = patient(901)
    lan_browser = Client()
    lan_browser.force_login(lan)
    assert lan_browser.get(f"/portal/appointments/{visit.public_id}/rate/").status_code == 404
    with pytest.raises(PermissionDenied):
        rating_submit(rating=rating, patient=lan, score=1)

    # the holder rates it in the portal; it counts for the doctor as usual
    browser = Client()
    browser.force_login(patient_dao)
    page = browser.get(f"/portal/appointments/{visit.public_id}/rate/")
    assert page.status_code == 200 and "For Minh Nguyễn" in page.content.decode()
    response = browser.post(f"/portal/appointments/{visit.public_id}/rate/", {"score": "5", "comment": ""})
    assert response.status_code == 302
    rating.refresh_from_db()
    assert rating.score == 5 and rating.patient == minh
    assert rating_summary(visit.doctor_id).count == 1
    assert ratings_to_give(patient_dao) == []
