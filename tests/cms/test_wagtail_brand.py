"""Wagtail, the clinic's way: its colours and logo, no Gravatar anywhere, the About text visitors see
shown in the profile editor, stale translations flagged, doctor profiles waiting on the dashboard."""

from __future__ import annotations

import re

from django.contrib.staticfiles import finders

from cms.models import DoctorProfilePage
from cms.services import doctor_profile_pages_sync
from tests.cms.conftest import translate
from tests.cms.test_editors import wagtail_admin_paths
from tests.cms.test_public_pages import html_of


def test_wagtail_wears_the_clinics_colours_and_logo(client, editor_em):
    client.force_login(editor_em)
    html = html_of(client.get("/cms/"))
    assert "medbook/wagtail-admin.css" in html
    assert "medbook/logo.svg" in html
    assert re.search(r"<title>[^<]*Medbook</title>", html)
    with open(finders.find("medbook/wagtail-admin.css"), encoding="utf-8") as css:
        assert "--w-color-primary-hue: 176" in css.read()  # the sidebar in the site's dark teal


def test_no_page_of_the_site_editor_asks_gravatar_for_avatars(client, editor_em, chau_profile):
    client.force_login(editor_em)
    paths = [*wagtail_admin_paths(), f"/cms/pages/{chau_profile.pk}/edit/", f"/cms/pages/{chau_profile.pk}/"]
    seen = 0
    for path in paths:
        if path == "/cms/failwhale/":
            continue
        response = client.get(path)
        if response.status_code != 200:
            continue
        seen += 1
        assert "gravatar" not in response.content.decode(errors="replace").lower(), path
    assert seen > 10


def test_the_dashboard_lists_doctor_profiles_waiting_as_drafts(client, editor_em, directory, chau_profile, dr_giang):
    [draft] = doctor_profile_pages_sync()  # Dr Giang has no page yet: a draft
    client.force_login(editor_em)
    html = html_of(client.get("/cms/"))
    [panel] = re.findall(r"<table[^>]*data-doctor-profile-drafts.*?</table>", html, flags=re.S)
    assert f"/cms/pages/{draft.pk}/edit/" in panel and str(dr_giang) in panel
    assert f"/cms/pages/{chau_profile.pk}/edit/" not in panel  # published, nothing waiting

    draft.summary = "Paediatrician."
    draft.save_revision().publish()
    html = html_of(client.get("/cms/"))
    assert "data-doctor-profile-drafts" not in html and "No doctor profile is waiting" in html


def test_the_profile_editor_shows_the_about_text_visitors_see(client, editor_em, chau_profile, dr_chau):
    client.force_login(editor_em)
    edit = f"/cms/pages/{chau_profile.pk}/edit/"
    [panel] = re.findall(r"<div class=\"medbook-public-about\".*?</div>", html_of(client.get(edit)), flags=re.S)
    assert "Twenty years of family medicine." in panel  # no About text on the page: the record's biography

    chau_profile.about = "<p>Family doctor for adults and children.</p>"
    chau_profile.save_revision().publish()
    [panel] = re.findall(r"<div class=\"medbook-public-about\".*?</div>", html_of(client.get(edit)), flags=re.S)
    assert "Family doctor for adults and children." in panel and "Twenty years" not in panel


def test_visitors_read_the_about_text_in_their_language(client, home, directory, chau_profile):
    chau_profile.about = "<p>Family doctor for adults and children.</p>"
    chau_profile.save_revision().publish()
    translate(home)
    translate(directory)
    translate(chau_profile, about="<p>Bác sĩ gia đình cho người lớn và trẻ em.</p>")

    english = html_of(client.get(chau_profile.url))
    assert "Family doctor for adults" in english and "Bác sĩ gia đình" not in english
    client.cookies["django_language"] = "vi"
    vietnamese = html_of(client.get(chau_profile.url))
    assert "Bác sĩ gia đình cho người lớn" in vietnamese and "Family doctor for adults" not in vietnamese
    assert "Twenty years" not in vietnamese


def test_a_translation_older_than_its_source_is_flagged(client, editor_em, home, directory, chau_profile):
    vi_home = translate(home)
    vi_directory = translate(directory)
    vi_profile = translate(chau_profile, summary="Bác sĩ đa khoa.")
    client.force_login(editor_em)
    listing = f"/cms/pages/{vi_directory.pk}/"
    assert "source changed" not in html_of(client.get(listing))
    assert "data-stale-translation" not in html_of(client.get(f"/cms/pages/{vi_profile.pk}/edit/"))

    chau_profile.summary = "GP, now also by video."  # the English source changes afterwards
    chau_profile.save_revision().publish()

    assert "live · source changed" in html_of(client.get(listing))
    editor = html_of(client.get(f"/cms/pages/{vi_profile.pk}/edit/"))
    assert "data-stale-translation" in editor and f"/cms/pages/{chau_profile.pk}/edit/" in editor
    assert "source changed" not in html_of(client.get(f"/cms/pages/{directory.pk}/"))  # sources are never stale
    assert vi_home.specific.translation_is_stale() is False

    vi_profile = DoctorProfilePage.objects.get(pk=vi_profile.pk)
    vi_profile.summary = "Bác sĩ đa khoa, khám cả qua video."  # the translator catches up
    vi_profile.save_revision().publish()
    assert "source changed" not in html_of(client.get(listing))
