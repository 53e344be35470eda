"""English and Vietnamese: the portal's language switcher also switches the public site's pages, at
the same addresses; /portal/, /admin/, /cms/ and /api/ stay unprefixed."""

from __future__ import annotations

import pytest
from wagtail.models import Locale

from cms.models import HomePage
from tests.cms.conftest import translate


@pytest.fixture
def vietnamese_site(home, directory, chau_profile, article, news):
    vi_home = translate(home, title="Trang chủ Medbook", intro="Đặt lịch khám")
    vi_directory = translate(directory, title="Tìm bác sĩ")
    vi_news = translate(news, title="Tin sức khỏe")
    return {"home": vi_home, "directory": vi_directory, "news": vi_news}


def switch_language(client, language: str, next_url: str = "/"):
    response = client.post("/i18n/setlang/", {"language": language, "next": next_url})
    assert response.status_code == 302
    return response["Location"]


def test_locales_for_both_languages_exist(db):
    assert set(Locale.objects.values_list("language_code", flat=True)) >= {"en", "vi"}


def test_switching_to_vietnamese_shows_the_vietnamese_page_at_the_same_address(client, vietnamese_site, directory):
    assert "<h1>Find a doctor</h1>" in client.get(directory.url).content.decode()

    assert switch_language(client, "vi", directory.url) == directory.url

    response = client.get(directory.url)
    html = response.content.decode()
    assert '<html lang="vi">' in html
    assert "<h1>Tìm bác sĩ</h1>" in html
    assert "Cookie" in response["Vary"]
    html = client.get("/").content.decode()
    assert "<h1>Trang chủ Medbook</h1>" in html

    switch_language(client, "en", "/")
    assert "<h1>Find a doctor</h1>" in client.get(directory.url).content.decode()


def test_an_untranslated_page_is_shown_in_english_inside_the_vietnamese_site(client, vietnamese_site, article):
    switch_language(client, "vi")
    response = client.get(article.url)
    assert response.status_code == 200
    assert f"<h1>{article.title}</h1>" in response.content.decode()


def test_a_translation_with_its_own_slug_is_found_from_either_address(client, vietnamese_site, article):
    vi_article = translate(article, title="Trẻ bị sốt", slug="tre-bi-sot")
    switch_language(client, "vi")
    assert "<h1>Trẻ bị sốt</h1>" in client.get(article.url).content.decode()
    assert "<h1>Trẻ bị sốt</h1>" in client.get(vi_article.url).content.decode()
    switch_language(client, "en")
    assert f"<h1>{article.title}</h1>" in client.get(vi_article.url).content.decode()


def test_a_draft_translation_is_not_shown(client, home, directory):
    translate(home, title="Trang chủ")
    draft = directory.copy_for_translation(Locale.objects.get(language_code="vi"))
    draft.title = "Bản nháp"
    draft.save_revision()
    switch_language(client, "vi")
    assert "<h1>Find a doctor</h1>" in client.get(directory.url).content.decode()


def test_unknown_addresses_are_still_not_found_in_either_language(client, vietnamese_site):
    assert client.get("/no-such-page/").status_code == 404
    switch_language(client, "vi")
    assert client.get("/no-such-page/").status_code == 404


@pytest.mark.parametrize("path", ["/portal/", "/admin/", "/cms/", "/api/v1/openapi.json"])
def test_application_addresses_stay_unprefixed(client, db, path):
    assert client.get(path).status_code != 404
    assert client.get(f"/vi{path}").status_code == 404


def test_the_portal_keeps_following_the_language_cookie(client, patient_dao):
    client.force_login(patient_dao)
    switch_language(client, "vi", "/portal/")
    assert '<html lang="vi">' in client.get("/portal/", follow=True).content.decode()


def test_the_vietnamese_home_is_a_translation_of_the_english_one(vietnamese_site, home):
    assert vietnamese_site["home"].translation_key == home.translation_key
    assert HomePage.objects.count() == 2
