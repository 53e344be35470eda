"""Issue 18 item 7: the appointment page's header fits a 1366-pixel screen: a short title (number and
patient) as the last breadcrumb, and a short test-payments label beside it."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.utils import translation

from booking import services as svc
from tests.booking.appointments.helpers import details_for
from themes.unfold import environment_label


def header_title(page: str) -> str:
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert h1, "no header title"
    return " ".join(re.sub(r"<[^>]+>|chevron_right", " ", h1.group(1)).split())


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_appointment_page_is_titled_by_number_and_patient_for_staff_and_its_doctor(
    client, slots, patient_dao, admin_an, doctor_binh, language
):
    visit = svc.appointment_book(
        slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    assert str(visit) == f"#{visit.pk} · {visit.patient_name}"
    for user in (admin_an, doctor_binh.user):
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        title = header_title(client.get(f"/admin/booking/appointment/{visit.pk}/change/").content.decode())
        assert title.endswith(f"#{visit.pk} · {visit.patient_name}"), title
        assert not re.search(r"\d{1,2}:\d{2}", title)  # no time squeezed into the breadcrumbs


def test_the_test_payments_label_is_short_in_both_languages(rf):
    for language in ("en", "vi"):
        with translation.override(language):
            text, tone = environment_label(rf.get("/admin/"))
            assert tone == "danger" and 0 < len(str(text)) <= 40, text
