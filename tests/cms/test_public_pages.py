"""What a visitor sees: every page type renders in the shared look, profiles show live free slots that
link into the portal, and search engines get titles, descriptions, JSON-LD, a sitemap and robots.txt."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from wagtail.models import Site

from booking.models import Slot, SlotStatus
from cms.links import booking_url
from cms.models import ClinicSettings, DoctorProfilePage, StandardPage
from tests.booking.scheduling.factories import make_availability
from tests.cms.conftest import publish


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def jsonld(html: str) -> list[dict]:
    return [json.loads(m) for m in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)]


def test_every_page_type_renders_with_the_portal_look(
    client, home, directory, chau_profile, general_medicine_page, specialty_index, news, article, about
):
    for page in [home, directory, chau_profile, specialty_index, general_medicine_page, news, article, about]:
        html = html_of(client.get(page.url))
        assert "medbook/site.css" in html and "medbook/cms.css" in html, page
        assert f"<h1>{page.title}</h1>" in html, page
        assert 'id="language-select"' in html, page  # the portal's language switcher
        assert 'class="site-nav"' in html, page


def test_profile_shows_the_next_free_days_as_tabs_each_slot_linking_to_the_portal(client, chau_profile, dr_chau):
    later = make_availability(dr_chau, days=9, start="09:00", end="10:00")  # a second day with free times
    slots = list(Slot.objects.filter(doctor=dr_chau, start__lt=timezone.now() + dt.timedelta(days=7)))
    taken = slots[0]
    Slot.objects.filter(pk=taken.pk).update(status=SlotStatus.BOOKED)

    html = html_of(client.get(chau_profile.url))

    assert len(slots) == 4
    for slot in [*slots[1:], *later.slots.all()]:
        href = f'href="/portal/book/{dr_chau.pk}/?slot={slot.pk}"'
        assert href in html
        assert timezone.localtime(slot.start).strftime("%H:%M") in html
    assert f'?slot={taken.pk}"' not in html  # booked meanwhile: read live, not cached on the page
    assert html.count('class="day-tab"') == 2  # one tab per day with free times
    assert "Next available:" in html
    assert "Twenty years of family medicine." in html  # no About text on the page: the record's biography
    assert "300,000 ₫" in html
    assert "Vietnamese" in html and "English" in html


def test_booking_url_is_the_portal_booking_flow_with_the_slot(dr_chau):
    slot = dr_chau.slots.first()
    assert booking_url(dr_chau) == f"/portal/book/{dr_chau.pk}/"
    assert booking_url(dr_chau, slot) == f"/portal/book/{dr_chau.pk}/?slot={slot.pk}"


def test_profile_of_an_inactive_doctor_has_no_booking_button(client, chau_profile, dr_chau):
    dr_chau.is_active = False
    dr_chau.save(update_fields=["is_active"])

    html = html_of(client.get(chau_profile.url))

    assert "/portal/book/" not in html
    assert "not taking bookings" in html
    assert jsonld(html)[0]["isAcceptingNewPatients"] is False


def test_profile_of_a_doctor_with_a_deactivated_account_has_no_booking_button(client, chau_profile, dr_chau):
    dr_chau.user.is_active = False
    dr_chau.user.save(update_fields=["is_active"])
    assert "/portal/book/" not in html_of(client.get(chau_profile.url))


def test_profile_carries_physician_json_ld_and_social_preview_tags(client, chau_profile, dr_chau, home):
    clinic = ClinicSettings.for_site(Site.objects.get(is_default_site=True))
    clinic.phone = "+84 28 1234 5678"
    clinic.address = "12 Lê Lợi\nQuận 1"
    clinic.opening_hours = [{"type": "day", "value": {"day": "0", "opens": "08:00", "closes": "17:00"}}]
    clinic.save()
    chau_profile.search_description = "Family doctor </script><b>in District 1"
    chau_profile.save_revision().publish()

    html = html_of(client.get(chau_profile.url))

    [data] = jsonld(html)
    assert data["@type"] == "Physician"
    assert data["name"] == str(dr_chau)
    assert data["url"].endswith(chau_profile.url)
    assert data["medicalSpecialty"] == ["Nội tổng quát"]
    assert data["knowsLanguage"] == ["vi", "en"]
    assert data["isAcceptingNewPatients"] is True
    assert data["telephone"] == "+84 28 1234 5678"
    assert data["address"]["streetAddress"] == "12 Lê Lợi Quận 1"
    assert data["openingHoursSpecification"][0]["dayOfWeek"] == "https://schema.org/Monday"
    assert data["description"] == "Family doctor </script><b>in District 1"
    assert "</script><b>" not in html  # escaped inside the script and the meta tags
    assert '<meta property="og:type" content="profile">' in html
    assert '<meta property="og:title" content="Dr. Châu Test">' in html
    assert '<meta name="twitter:card"' in html
    assert f'<link rel="canonical" href="{chau_profile.full_url}">' in html
    assert 'name="description" content="Family doctor &lt;/script&gt;&lt;b&gt;in District 1"' in html


def test_seo_title_and_meta_description_fall_back_to_the_page(client, article):
    html = html_of(client.get(article.url))
    assert "<title>Fever in children · Medbook</title>" in html
    assert '<meta name="description" content="When a fever needs a doctor.">' in html
    assert '<meta property="og:type" content="article">' in html
    article.seo_title = "Children's fever guide"
    article.search_description = "A guide."
    article.save_revision().publish()
    html = html_of(client.get(article.url))
    assert "<title>Children&#x27;s fever guide · Medbook</title>" in html
    assert '<meta name="description" content="A guide.">' in html


def test_a_doctor_has_one_profile_page_per_language(directory, chau_profile, dr_chau):
    with pytest.raises(ValidationError):
        directory.add_child(instance=DoctorProfilePage(title="Again", slug="again", doctor=dr_chau))


def test_specialty_page_lists_its_active_doctors_with_their_profiles(
    client, general_medicine_page, chau_profile, dr_chau, dr_giang, directory
):
    html = html_of(client.get(general_medicine_page.url))
    assert str(dr_chau) in html and chau_profile.url in html
    assert str(dr_giang) not in html  # pediatrics
    dr_chau.is_active = False
    dr_chau.save(update_fields=["is_active"])
    assert str(dr_chau) not in html_of(client.get(general_medicine_page.url))


def test_home_page_offers_the_doctor_search_specialties_and_latest_articles(
    client, home, directory, general_medicine_page, article
):
    html = html_of(client.get("/"))
    assert f'action="{directory.url}"' in html
    assert general_medicine_page.title in html
    assert article.title in html


def test_sitemap_lists_live_pages_only(client, home, directory, chau_profile, article, about):
    draft = publish(home, StandardPage(title="Draft", slug="draft"))
    draft.unpublish()
    response = client.get("/sitemap.xml")
    xml = html_of(response)
    assert response["Content-Type"].startswith("application/xml")
    for page in (home, directory, chau_profile, article, about):
        assert f"<loc>{page.full_url}</loc>" in xml
    assert "/draft/" not in xml


def test_robots_txt_points_to_the_sitemap_and_keeps_crawlers_out_of_private_areas(client):
    response = client.get("/robots.txt")
    text = html_of(response)
    assert response["Content-Type"].startswith("text/plain")
    assert "User-agent: *" in text
    for area in ("/admin/", "/cms/", "/portal/", "/api/"):
        assert f"Disallow: {area}\n" in text
    assert "Sitemap: http://testserver/sitemap.xml" in text


def test_site_search_finds_pages_by_their_content(client, article, about, chau_profile):
    html = html_of(client.get("/search/", {"q": "fevers"}))
    assert article.url in html
    assert "When a fever needs a doctor." in html  # the article's summary
    assert about.url not in html
    html = html_of(client.get("/search/", {"q": "Châu"}))
    assert chau_profile.url in html
    assert "0 results" in html_of(client.get("/search/", {"q": "xylophone"}))


def test_footer_shows_the_clinic_details_hours_and_legal_pages(client, home, about):
    clinic = ClinicSettings.for_site(Site.objects.get(is_default_site=True))
    clinic.phone = "+84 28 1234 5678"
    clinic.email = "hello@clinic.test"
    clinic.opening_hours = [
        {"type": "day", "value": {"day": "0", "opens": "08:00", "closes": "17:00"}},
        {"type": "day", "value": {"day": "6", "closed": True}},
    ]
    clinic.terms_page = about
    clinic.save()

    html = html_of(client.get("/"))

    assert "+84 28 1234 5678" in html and "mailto:hello@clinic.test" in html
    assert "Monday" in html and "08:00" in html and "Sunday" in html and "Closed" in html
    assert f'href="{about.url}">About us</a>' in html


def test_the_sitemap_and_canonical_links_use_site_url_after_migrate(client, db, settings):
    """Issue 18 item 11: the default Wagtail Site follows SITE_URL (post_migrate), not http://localhost/."""
    from django.core.management import call_command
    from wagtail.models import Site

    settings.SITE_URL = "https://clinic.example.vn"
    call_command("migrate", verbosity=0)  # nothing to apply; post_migrate runs as on a deploy
    site = Site.objects.get(is_default_site=True)
    assert (site.hostname, site.port, site.root_url) == ("clinic.example.vn", 443, "https://clinic.example.vn")
    sitemap = client.get("/sitemap.xml").content.decode()
    assert "<loc>https://clinic.example.vn/</loc>" in sitemap and "localhost" not in sitemap
    home = client.get("/").content.decode()
    assert '<link rel="canonical" href="https://clinic.example.vn/">' in home

    settings.SITE_URL = "http://127.0.0.1:8000"
    call_command("migrate", verbosity=0)
    assert Site.objects.get(is_default_site=True).root_url == "http://127.0.0.1:8000"


def test_favicon_ico_leads_to_the_clinic_logo(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("medbook/logo.svg")
    from django.contrib.staticfiles import finders

    assert finders.find("medbook/logo.svg")
