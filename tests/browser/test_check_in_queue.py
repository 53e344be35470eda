"""Check-in → call next → the queue board, in a real browser: the front desk finds today's visit by its
booking code and checks the patient in (English), the doctor presses "call next" in their workspace
(Vietnamese), and the waiting-room screen shows the call as initials, number and room in English and
Vietnamese (headless Chromium)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.booking.appointments.helpers import make_doctor
from tests.factories import make_user
from tests.workflows.operations.queue_helpers import a_time_today, room_at_facility, visit_at
from workflows.operations.models import CheckIn, QueueStatus
from workflows.operations.selectors import board_path
from workflows.operations.services import queue_board_renew

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_desk_checks_in_the_doctor_calls_next_and_the_board_shows_the_call(
    browser_as, chromium, live_server, staff_binh
):
    room = room_at_facility("Medbook Lê Lợi", "Phòng 3")
    doctor = make_doctor("lan.queue@clinic.test")
    an = make_user("an.queue@example.test", "patient", first_name="Văn An", last_name="Nguyễn")
    visit = visit_at(doctor, an, room=room, start=a_time_today())
    board = queue_board_renew(facility=room.facility, actor=staff_binh)

    desk = browser_as(staff_binh)
    desk.goto("/admin/operations/arrival/")
    desk.locator("#searchbar").fill(visit.booking_code)  # what a QR scanner types
    desk.keyboard.press("Enter")
    desk.wait_for_url(re.compile(r"\?q="))
    expect(desk.get_by_text("Nguyễn Văn An")).to_be_visible()
    desk.locator("#result_list").get_by_role("link", name="Check in", exact=True).click()
    expect(desk.get_by_text("gets the next queue number")).to_be_visible()  # the link navigates
    with desk.expect_navigation():
        desk.get_by_role("button", name="Check in").last.click()
    expect(desk.get_by_text("Nguyễn Văn An is checked in: queue number 1.")).to_be_visible()
    assert CheckIn.objects.get(appointment=visit).status == QueueStatus.ARRIVED

    workspace = browser_as(doctor.user)
    workspace.context.add_cookies([{"name": "django_language", "value": "vi", "url": live_server.url}])
    workspace.goto("/admin/operations/checkin/")
    workspace.get_by_role("link", name="Gọi người tiếp theo").first.click()  # opens Unfold's dialog
    with workspace.expect_navigation():
        workspace.get_by_role("button", name="Gọi người tiếp theo").last.click()
    expect(workspace.get_by_text("Số 1 (Nguyễn Văn An) được mời vào Phòng 3.")).to_be_visible()
    assert CheckIn.objects.get(appointment=visit).status == QueueStatus.CALLED

    screen = chromium.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 768})
    try:
        tv = screen.new_page()
        tv.goto(board_path(board) + "?lang=en")
        call = tv.locator("table.calls tr.call").first
        assert call.locator("td").all_inner_texts() == ["1", "N.V.A.", "Phòng 3"]
        assert tv.get_by_role("heading", name="Now calling").is_visible()
        assert "Nguyễn" not in tv.content()
        tv.goto(board_path(board) + "?lang=vi")
        assert tv.get_by_role("heading", name="Đang mời").is_visible()
        assert tv.locator("table.calls tr.call").first.locator("td").all_inner_texts() == ["1", "N.V.A.", "Phòng 3"]
    finally:
        screen.close()
