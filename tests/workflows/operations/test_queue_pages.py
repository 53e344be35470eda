"""The faces of the queue: the waiting-room board (secret link, no login, initials only, no-store, in
English and Vietnamese), the check-in search at the desk, the patient's QR code, and the dashboard."""

from __future__ import annotations

import pytest
from django.test import Client

from booking.models import AppointmentStatus
from tests.booking.appointments.helpers import make_doctor
from tests.factories import make_user
from tests.workflows.operations.queue_helpers import a_time_today, room_at_facility, visit_at
from workflows.operations.models import CheckIn, QueueBoard
from workflows.operations.selectors import board_path
from workflows.operations.services import check_in_arrive, check_in_call, queue_board_renew


@pytest.fixture
def doctor_binh(db):
    return make_doctor("binh.doctor@clinic.test")


@pytest.fixture
def room(db):
    return room_at_facility("Medbook Lê Lợi", "3")


@pytest.fixture
def an(db):
    return make_user("an.nguyen@example.test", "patient", first_name="Văn An", last_name="Nguyễn")


@pytest.fixture
def visit(doctor_binh, an, room):
    return visit_at(doctor_binh, an, room=room, start=a_time_today())


@pytest.fixture
def called(visit, staff_binh, doctor_binh):
    return check_in_call(check_in=check_in_arrive(appointment=visit, actor=staff_binh), actor=doctor_binh.user)


def test_the_board_shows_the_call_by_initials_and_room_without_login_and_is_not_stored(called, room, staff_binh):
    board = queue_board_renew(facility=room.facility, actor=staff_binh)
    response = Client().get(board_path(board) + "?lang=en")
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    assert 'http-equiv="refresh"' in html and "Now calling" in html
    assert "N.V.A." in html and "<td>3</td>" in html and f"<td>{called.number}</td>" in html
    assert "Nguyễn" not in html and "Văn An" not in html  # initials only
    vietnamese = Client().get(board_path(board) + "?lang=vi").content.decode()
    assert "Đang mời" in vietnamese and 'lang="vi"' in vietnamese


def test_a_wrong_or_replaced_board_link_answers_404(room, staff_binh):
    board = queue_board_renew(facility=room.facility, actor=staff_binh)
    old = board_path(board)
    assert Client().get("/board/" + "x" * 43 + "/").status_code == 404
    queue_board_renew(facility=room.facility, actor=staff_binh)
    assert Client().get(old).status_code == 404
    assert Client().get(board_path(QueueBoard.objects.get())).status_code == 200


def test_the_desk_finds_todays_visit_by_booking_code_phone_or_name(client, visit, staff_binh):
    client.force_login(staff_binh)
    for term in (visit.booking_code, visit.booking_code.lower(), "0900000001", "+84 90 000 0001", "Nguyễn"):
        html = client.get("/admin/operations/arrival/", {"q": term}).content.decode()
        assert f"/admin/operations/arrival/{visit.pk}/check_in_detail/" in html, term
    html = client.get(
        "/admin/operations/arrival/", {"q": "ABCDEF12" if visit.booking_code != "ABCDEF12" else "12345678"}
    )
    assert f"/{visit.pk}/check_in_detail/" not in html.content.decode()


def test_doctors_and_patients_cannot_check_in(client, visit, doctor_binh, an):
    for who in (doctor_binh.user, an):
        client.force_login(who)
        response = client.post(f"/admin/operations/arrival/{visit.pk}/check_in_detail/", {"_form_submitted": "on"})
        assert response.status_code in {302, 403, 404}
    assert not CheckIn.objects.exists()


def test_a_doctor_sees_only_their_own_queue(client, called, staff_binh):
    other = make_doctor("chi.doctor@clinic.test")
    client.force_login(other.user)
    assert "N.V.A." not in client.get("/admin/operations/checkin/").content.decode()
    assert client.get(f"/admin/operations/checkin/{called.pk}/change/").status_code in {302, 404}


def test_the_patient_sees_the_booking_code_as_a_qr_code_until_checked_in(client, visit, an, staff_binh):
    client.force_login(an)
    html = client.get(f"/portal/appointments/{visit.public_id}/").content.decode()
    assert "<svg" in html and visit.booking_code in html and 'class="booking-qr"' in html
    check_in = check_in_arrive(appointment=visit, actor=staff_binh)
    html = client.get(f"/portal/appointments/{visit.public_id}/").content.decode()
    assert "booking-qr" not in html and f"queue number {check_in.number}" in html


def test_a_video_visit_has_no_qr_code(client, doctor_binh, an):
    from tests.workflows.clinic.conftest import appointment as appointment_row

    video = appointment_row(doctor_binh, an, status=AppointmentStatus.CONFIRMED, starts_at=a_time_today())
    client.force_login(an)
    assert "booking-qr" not in client.get(f"/portal/appointments/{video.public_id}/").content.decode()


def test_the_dashboard_shows_the_wait_and_late_arrivals(client, called, staff_binh, doctor_binh):
    client.force_login(staff_binh)
    html = client.get("/admin/").content.decode()
    assert "Waiting room" in html and "Average wait" in html and str(doctor_binh) in html


def test_the_dashboard_tells_the_queue_in_words_in_vietnamese(client, called, admin_an):
    """The recent activity says what the desk and the doctor did (no "check in called" code), and the
    wait table scrolls inside its block on a phone instead of widening the page."""
    import re

    client.force_login(admin_an)
    client.cookies["django_language"] = "vi"
    html = client.get("/admin/").content.decode()
    activity = re.search(r'<ol[^>]*id="recent-activity">(.*?)</ol>', html, re.S).group(1)
    assert "Bình: check in" not in activity and "check in" not in activity
    assert "đã tiếp nhận Số 1" in activity and "đã mời Số 1" in activity
    assert '<div class="table-scroll"><table class="clinic-list queue-stats">' in html


def test_the_queue_says_late_arrival_not_late_cancellation_in_vietnamese(client, called, staff_binh):
    client.force_login(staff_binh)
    client.cookies["django_language"] = "vi"
    html = client.get("/admin/operations/checkin/").content.decode()
    assert "Đến muộn" in html or "đến muộn" in html
    assert "hủy muộn" not in html.lower()
