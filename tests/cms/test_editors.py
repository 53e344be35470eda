"""Editors run the public site in Wagtail (pages, images, translations, clinic details) and see no
patient or appointment data anywhere: not in the Django admin, not in any Wagtail view."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from wagtail.models import Locale, Page

from booking.services import appointment_book
from cms.models import DoctorProfilePage
from cms.services import doctor_profile_pages_sync
from tests.booking.appointments.helpers import details_for

PATIENT_MARKERS = ("dao.patient@example.test", "079123456789", "Headache for three days", "penicillin")


@pytest.fixture
def clinical_data(patient_dao, dr_chau):
    """A patient with a medical record and a booked appointment: what editors must never see."""
    record = patient_dao.patient_profile.medical_record
    record.allergies = "penicillin"
    record.save()
    slot = dr_chau.slots.order_by("start").first()
    return appointment_book(slot=slot, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))


def _plain_admin_paths(patterns, prefix: str):
    """Every Wagtail admin address that takes no argument."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if re.search(r"[<(\[\\?*+]", route):
            continue
        if isinstance(pattern, URLResolver):
            yield from _plain_admin_paths(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield "/" + route


def wagtail_admin_paths() -> list[str]:
    [cms] = [p for p in get_resolver().url_patterns if str(p.pattern) == "cms/"]
    return sorted(set(_plain_admin_paths(cms.url_patterns, "cms/")))


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/booking/appointment/",
        "/admin/booking/doctor/",
        "/admin/booking/slot/",
        "/admin/accounts/user/",
        "/admin/accounts/patientprofile/",
    ],
)
def test_editors_cannot_open_the_clinic_admin(client, editor_em, clinical_data, path):
    client.force_login(editor_em)
    response = client.get(path, follow=True)
    assert response.status_code in {403, 404} or response.redirect_chain[-1][0].startswith("/accounts/login")
    html = response.content.decode()
    assert not any(marker in html for marker in PATIENT_MARKERS)


def test_no_wagtail_admin_view_shows_patient_or_appointment_data_to_editors(client, editor_em, clinical_data):
    client.force_login(editor_em)
    paths = wagtail_admin_paths()
    assert "/cms/" in paths and "/cms/pages/search/" in paths and len(paths) > 20
    opened = 0
    for path in paths:
        if path == "/cms/failwhale/":  # Wagtail's deliberate error page, for testing error reporting
            continue
        response = client.get(path)
        html = response.content.decode(errors="replace")
        assert not any(marker in html for marker in PATIENT_MARKERS), path
        opened += response.status_code == 200
    assert opened > 10  # the editor really is inside Wagtail, not bounced from every page
    for query in ("dao.patient", "Headache", "079123456789"):
        html = client.get("/cms/pages/search/", {"q": query}).content.decode()
        assert not any(marker in html for marker in PATIENT_MARKERS)


def test_booking_models_are_not_wagtail_snippets(client, editor_em, admin_an, clinical_data):
    from wagtail.snippets.models import get_snippet_models

    assert not [model for model in get_snippet_models() if model._meta.app_label in {"booking", "accounts"}]
    client.force_login(admin_an)  # not even a clinic admin finds them in Wagtail
    for path in ("/cms/snippets/booking/appointment/", "/cms/snippets/accounts/user/"):
        assert client.get(path).status_code == 404


def test_editors_cannot_manage_wagtail_users_or_groups(client, editor_em, clinical_data):
    client.force_login(editor_em)
    for path in ("/cms/users/", "/cms/groups/"):
        response = client.get(path)
        assert response.status_code in {302, 403}
        assert "dao.patient@example.test" not in client.get(path, follow=True).content.decode()


def test_editors_complete_and_publish_a_draft_doctor_profile(client, editor_em, directory, dr_chau):
    [draft] = doctor_profile_pages_sync()
    client.force_login(editor_em)
    edit_url = f"/cms/pages/{draft.pk}/edit/"
    form = client.get(edit_url)
    assert form.status_code == 200
    response = client.post(
        edit_url,
        {
            "title": str(dr_chau),
            "slug": draft.slug,
            "doctor": dr_chau.pk,
            "summary": "Family doctor in District 1.",
            "body-count": "0",
            "action-publish": "action-publish",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.live and draft.summary == "Family doctor in District 1."
    assert client.get(draft.url).status_code == 200


def test_editors_can_translate_pages_and_edit_the_clinic_details(client, editor_em, home):
    client.force_login(editor_em)
    translate_url = reverse("simple_translation:submit_page_translation", args=[home.pk])
    assert client.get(translate_url).status_code == 200
    vietnamese = Locale.objects.get(language_code="vi")
    assert client.post(translate_url, {"locales": [vietnamese.pk]}).status_code == 302
    assert home.get_translation(vietnamese).live is False  # a draft for the editor to translate
    assert client.get("/cms/settings/cms/clinicsettings/").status_code in {200, 302}
    final = client.get("/cms/settings/cms/clinicsettings/", follow=True)
    assert final.status_code == 200 and "clinic_name" in final.content.decode()


def test_editors_upload_images(client, editor_em):
    client.force_login(editor_em)
    assert client.get("/cms/images/").status_code == 200
    assert client.get("/cms/images/add/").status_code == 200


def test_a_doctor_record_in_use_by_a_page_cannot_be_deleted(chau_profile, dr_chau):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        dr_chau.delete()
    assert Page.objects.filter(pk=chau_profile.pk).exists()
    assert DoctorProfilePage.objects.get(pk=chau_profile.pk).doctor_id == dr_chau.pk
