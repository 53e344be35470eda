"""The appointment page's header at 1366×900 (issue 18 item 7): no breadcrumb is cut off beside the
test-payments label and the buttons, for the clinic admin and for the visit's doctor, in both languages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from booking import services as svc
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import make_user, publish_slots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLIPPED = """() => {
  const title = document.querySelector('#header-inner h1');
  const parts = [...title.querySelectorAll('a, span.truncate')];
  return parts.filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.trim());
}"""
OUTSIDE = """() => [...document.querySelectorAll('#header-inner a, #header-inner button')]
  .filter(b => b.offsetParent !== null && b.getBoundingClientRect().right > window.innerWidth)
  .map(b => b.textContent.trim())"""


def test_the_appointment_header_fits_1366_pixels_for_admin_and_doctor_in_both_languages(
    browser_as, admin_an, live_server
):
    doctor = make_doctor(auto_confirm=False)
    patient = make_user("lan.patient@example.test", "patient", first_name="Thị Ngọc Lan", last_name="Nguyễn Hoàng")
    slot = publish_slots(doctor, start=timezone.now() + timedelta(days=2), count=1)[0]
    visit = svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))
    assert "sandbox" in settings.PAYMENT_GATEWAYS  # the label is on: the crowded header this is about
    for user in (admin_an, doctor.user):
        page = browser_as(user)
        page.set_viewport_size({"width": 1366, "height": 900})
        for language in ("en", "vi"):
            page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
            page.goto(f"/admin/booking/appointment/{visit.pk}/change/")
            assert f"#{visit.pk} · {visit.patient_name}" in page.locator("#header-inner h1").inner_text()
            assert page.evaluate(CLIPPED) == [], (user.email, language)
            assert page.evaluate(OUTSIDE) == [], (user.email, language)
