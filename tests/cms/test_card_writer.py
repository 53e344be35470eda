"""The directory cards are written in Python (``cms.cards``, issue 19: the template included once per
card was half of the directory's time). They must be the very markup the template made: each card
is compared byte for byte with ``reference/doctor_card.html`` (the template as it was), in English
and Vietnamese, for every branch of the card (photo, record photo, initials; profile or not; an
average rating; languages; fee; video, a clinic with and without a city; quick slots this week or
later; no free time; the h3 heading of the specialty and facility pages)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.template import engines
from django.test import RequestFactory
from django.utils import translation
from wagtail.images.tests.utils import get_test_image_file

from cms import selectors
from cms.cards import CardWriter
from cms.models import DoctorProfilePage
from tests.booking.scheduling.factories import DoctorFactory, make_availability
from tests.cms.conftest import publish
from tests.cms.test_directory_cards import clinic_hours, photo
from tests.cms.test_ratings_on_the_site import rate
from tests.factories import FacilityFactory

REFERENCE = (Path(__file__).parent / "reference" / "doctor_card.html").read_text()

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def reference(entry, request, heading=None) -> str:
    context = {"entry": entry, **({"heading": heading} if heading else {})}
    return engines["django"].from_string(REFERENCE).render(context, request)


def assert_same_cards(entries, *, heading=None) -> None:
    assert entries
    for language in ("en", "vi"):
        with translation.override(language):
            request = RequestFactory().get("/doctors/")
            writer = CardWriter(request)
            for entry in entries:
                written = writer.card(entry, heading or "h2")
                assert written == reference(entry, request, heading), (language, entry.doctor)


def test_the_cards_are_the_templates_markup(media, directory, chau_profile, dr_chau, dr_giang):
    # Châu: the editor's photo, three ratings (an average), two languages, video times tomorrow
    chau_profile.image = photo()
    chau_profile.save_revision().publish()
    rate(dr_chau, [(5, ""), (4, ""), (4, "")])
    # Giang: no profile page, in person at a clinic in two days (initials, the clinic and its city)
    clinic_hours(dr_giang, FacilityFactory(name="Medbook Lê Lợi <1>", city="Hồ Chí Minh"), days=2)
    # a record photo, a clinic without a city, times in three weeks (not "this week"), a name to escape
    later = DoctorFactory(first_name="O'Brien & <Co>", languages="en, fr, xx", consultation_fee=0)
    later.photo.save("later.png", ContentFile(get_test_image_file().file.getvalue()), save=True)
    clinic_hours(later, FacilityFactory(city=""), days=20)
    publish(directory, DoctorProfilePage(title=str(later), slug=f"dr-{later.pk}", doctor=later))
    assert_same_cards(selectors.doctor_directory(per_page=20).entries)


def test_cards_without_free_times_and_with_an_h3_heading(directory, dr_chau, dr_giang, pediatrics, general_medicine):
    make_availability(dr_giang, days=9, start="08:00", end="08:30")
    away = DoctorFactory(first_name="Away", specialties=[pediatrics])  # bookable, but no free time
    entries = selectors.specialty_entries(specialty_id=pediatrics.pk)
    assert {entry.doctor.pk for entry in entries} == {dr_giang.pk, away.pk}
    assert any(entry.next_free is None for entry in entries)
    assert_same_cards(entries, heading="h3")
    assert_same_cards(selectors.specialty_entries(specialty_id=general_medicine.pk), heading="h3")
