"""The admin's start page lists the first 10 doctors of the utilisation-by-doctor and revenue-by-doctor
tables, with a link to the same page and period listing all of them (issue 19); the totals count
everyone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape

import pytest

from booking.models import Payment
from tests.factories import make_user, publish_slots
from tests.workflows.clinic.conftest import appointment, make_doctor_for

pytestmark = pytest.mark.django_db

MARCH = {"start": "2025-03-01", "end": "2025-03-31", "preset": "last-month"}


def make_doctors(count: int, specialty) -> list:
    """``count`` doctors with four half-hours published in March 2025, doctor i with i % 3 of them
    booked and paid (i + 1) × 100,000 ₫ for one visit."""
    patient = make_user("lan.patient@clinic.test", "patient", first_name="Lan")
    doctors = []
    for i in range(count):
        doctor = make_doctor_for(
            f"d{i}@clinic.test", first_name=f"Doc{i:02d}", last_name="Test", specialties=[specialty]
        )
        slots = publish_slots(doctor, start=datetime(2025, 3, 10, 2, tzinfo=UTC), count=4)
        for slot in slots[: i % 3]:
            appointment(doctor, patient, status="confirmed", slot=slot)
        visit = appointment(doctor, patient, status="completed", starts_at=datetime(2025, 3, 11, 2, tzinfo=UTC))
        Payment.objects.create(
            appointment=visit,
            gateway="cash",
            amount=Decimal(100000 * (i + 1)),
            currency="VND",
            status="succeeded",
            paid_at=datetime(2025, 3, 11, 3, tzinfo=UTC),
        )
        doctors.append(doctor)
    return doctors


@pytest.fixture
def twelve_doctors(general):
    return make_doctors(12, general)


def _card(html: str, title: str) -> str:
    """The markup from a card's title to the end of its table."""
    start = html.index(title)
    return html[start : start + html[start:].index("</table>")]


def _rows(card: str) -> int:
    return card.count('class="data-row')


def _show_all(html: str) -> list[tuple[str, str]]:
    return [(unescape(href), text) for href, text in re.findall(r'medbook-show-all" href="([^"]*)">([^<]*)</a>', html)]


def test_the_per_doctor_tables_show_ten_doctors_and_link_to_all_of_them(client, twelve_doctors, admin_an):
    client.force_login(admin_an)
    html = client.get("/admin/", MARCH).content.decode()
    assert _rows(_card(html, "Utilisation by doctor")) == 10
    assert _rows(_card(html, "Revenue by doctor")) == 10
    assert "Doc11 Test" in _card(html, "Revenue by doctor")  # the most revenue first
    assert "Doc00 Test" not in _card(html, "Revenue by doctor")
    links = _show_all(html)
    assert [text for _href, text in links] == ["Show all 12 doctors", "Show all 12 doctors"]
    for href, _text in links:  # the same period, every doctor
        assert href == "?start=2025-03-01&end=2025-03-31&preset=last-month&doctors=all"
    # the totals count every doctor: 12 × 4 half-hours published, 0, 1, 2 booked in turn
    assert "360 of 1440 minutes booked" in html
    assert "7,800,000 ₫" in html  # 100,000 × (1 + … + 12)

    everyone = client.get("/admin/", {**MARCH, "doctors": "all"}).content.decode()
    assert _rows(_card(everyone, "Utilisation by doctor")) == 12
    assert _rows(_card(everyone, "Revenue by doctor")) == 12
    assert "Doc00 Test" in _card(everyone, "Revenue by doctor")
    assert _show_all(everyone) == []
    assert "360 of 1440 minutes booked" in everyone


def _period_links(html: str) -> list[str]:
    nav = html.split('id="dashboard-periods"', 1)[1].split("</nav>", 1)[0]
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', nav)]


def test_every_doctor_stays_shown_when_the_period_changes(client, twelve_doctors, admin_an):
    client.force_login(admin_an)
    cut = client.get("/admin/", MARCH).content.decode()
    assert _period_links(cut) and not any("doctors=all" in href for href in _period_links(cut))
    assert 'name="doctors"' not in cut
    everyone = client.get("/admin/", {**MARCH, "doctors": "all"}).content.decode()
    links = _period_links(everyone)
    assert len(links) == 4 and all(href.endswith("&doctors=all") for href in links)
    # the period form sends it too
    assert '<input type="hidden" name="doctors" value="all">' in everyone
    # a period link followed: still every doctor, and still kept by the next change
    following = client.get("/admin/" + links[1]).content.decode()
    assert all(href.endswith("&doctors=all") for href in _period_links(following))
    assert '<input type="hidden" name="doctors" value="all">' in following


def test_the_show_all_link_reads_in_vietnamese(client, twelve_doctors, admin_an):
    client.force_login(admin_an)
    client.cookies["django_language"] = "vi"
    html = client.get("/admin/", MARCH).content.decode()
    assert [text for _href, text in _show_all(html)] == ["Xem tất cả 12 bác sĩ", "Xem tất cả 12 bác sĩ"]


def test_ten_doctors_need_no_link(client, general, admin_an):
    make_doctors(10, general)
    client.force_login(admin_an)
    html = client.get("/admin/", MARCH).content.decode()
    assert _rows(_card(html, "Utilisation by doctor")) == 10
    assert _rows(_card(html, "Revenue by doctor")) == 10
    assert _show_all(html) == []


def test_the_link_without_a_period_asks_for_every_doctor_only(client, twelve_doctors, admin_an):
    client.force_login(admin_an)
    html = client.get("/admin/").content.decode()  # this month: nothing in March 2025
    assert _show_all(html) == []
    html = client.get("/admin/", {"start": "2025-03-01", "end": "2025-03-31", "other": "x"}).content.decode()
    assert {href for href, _text in _show_all(html)} == {"?start=2025-03-01&end=2025-03-31&doctors=all"}
