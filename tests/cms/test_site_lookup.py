"""Wagtail's site-for-host lookup and the clinic settings are read with SQL compiled once (``cms.site_lookup``,
``ClinicSettings.for_site``, issue 19): they answer what Wagtail's own queries answer, read the tables
on every call (a site or a setting changed shows on the next request) and load the same relations."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from wagtail.contrib.settings.models import BaseSiteSetting
from wagtail.models import Page, Site
from wagtail.models import sites as wagtail_sites

from cms import site_lookup
from cms.models import ClinicSettings

pytestmark = pytest.mark.django_db

HOSTS = ("localhost", "other.test", "third.test", "nowhere.test")
PORTS = (80, 443, 8000)


def wagtail_answer(hostname, port):
    try:
        return site_lookup._wagtail_get_site_for_hostname(hostname, port).pk
    except Site.DoesNotExist:
        return None


def compiled_answer(hostname, port):
    try:
        site = site_lookup.get_site_for_hostname(hostname, port)
    except Site.DoesNotExist:
        return None
    with CaptureQueriesContext(connection) as queries:
        assert site.root_page.pk == site.root_page_id  # loaded with the site, as Wagtail's select_related
    assert not queries.captured_queries
    return site.pk


def a_root() -> Page:
    return Page.get_first_root_node().add_child(
        instance=Page(
            title="Root", slug=f"root-{Page.objects.count()}", content_type=ContentType.objects.get_for_model(Page)
        )
    )


def test_wagtail_routes_its_site_lookup_through_the_compiled_query():
    assert wagtail_sites.get_site_for_hostname is site_lookup.get_site_for_hostname
    assert site_lookup._wagtail_get_site_for_hostname is not None


@pytest.mark.parametrize(
    "sites",
    [
        [("localhost", 80, True)],
        [("localhost", 80, True), ("other.test", 80, False)],
        [("localhost", 80, True), ("other.test", 80, False), ("other.test", 8000, False)],
        [("localhost", 80, False), ("other.test", 443, True), ("localhost", 8000, False)],
        [("other.test", 80, False), ("third.test", 8000, False)],
        [("other.test", 80, True), ("other.test", 443, False), ("third.test", 80, False)],
    ],
)
def test_the_compiled_lookup_chooses_the_site_wagtail_chooses(sites):
    Site.objects.all().delete()
    for hostname, port, default in sites:
        Site.objects.create(hostname=hostname, port=port, is_default_site=default, root_page=a_root())
    for hostname in HOSTS:
        for port in PORTS:
            assert compiled_answer(hostname, port) == wagtail_answer(hostname, port), (hostname, port)
            assert compiled_answer(hostname, str(port)) == wagtail_answer(hostname, str(port)), (hostname, port)


def test_a_site_changed_is_found_by_the_next_request():
    default = Site.objects.get(is_default_site=True)
    request = RequestFactory().get("/", HTTP_HOST="other.test")
    assert Site.find_for_request(request).pk == default.pk
    other = Site.objects.create(hostname="other.test", port=80, root_page=a_root())
    assert Site.find_for_request(RequestFactory().get("/", HTTP_HOST="other.test")).pk == other.pk
    new_root = a_root()
    other.root_page = new_root
    other.save()
    assert Site.find_for_request(RequestFactory().get("/", HTTP_HOST="other.test")).root_page == new_root
    other.delete()
    assert Site.find_for_request(RequestFactory().get("/", HTTP_HOST="other.test")).pk == default.pk


def test_a_port_that_is_not_a_number_gets_wagtails_own_answer():
    with pytest.raises(ValueError):
        site_lookup._wagtail_get_site_for_hostname("localhost", "eighty")
    with pytest.raises(ValueError):
        site_lookup.get_site_for_hostname("localhost", "eighty")


def test_clinic_settings_are_read_as_wagtail_reads_them_and_changes_show_on_the_next_read(home):
    site = Site.objects.get(is_default_site=True)
    created = ClinicSettings.for_site(site)  # none yet: created, as Wagtail's get_or_create does
    assert created.pk is not None and ClinicSettings.objects.filter(site=site).count() == 1
    created.clinic_name = "Phòng khám Hoà Bình"
    created.privacy_page = home
    created.save()
    settings = ClinicSettings.for_site(site)
    wagtails = BaseSiteSetting.for_site.__func__(ClinicSettings, site)
    assert [getattr(settings, f.attname) for f in ClinicSettings._meta.concrete_fields] == [
        getattr(wagtails, f.attname) for f in ClinicSettings._meta.concrete_fields
    ]
    assert ClinicSettings.objects.filter(site=site).count() == 1
    with CaptureQueriesContext(connection) as queries:
        assert settings.privacy_page.pk == home.pk
        assert settings.terms_page is None and settings.default_social_image is None
    assert not queries.captured_queries  # loaded with the settings (``select_related``)
    ClinicSettings.objects.filter(pk=settings.pk).update(clinic_name="Medbook Q1")
    assert ClinicSettings.for_site(site).clinic_name == "Medbook Q1"
    with pytest.raises(ClinicSettings.DoesNotExist):
        ClinicSettings.for_site(None)


# --- page.specific for the site's page types (cms.specific_pages) ---------------------------------


def wagtails_specific(page):
    from wagtail.models.specific import SpecificMixin

    return SpecificMixin.get_specific(Page.objects.get(pk=page.pk))


def field_values(page) -> list:
    return [getattr(page, field.attname) for field in type(page)._meta.concrete_fields]


def test_page_specific_is_read_compiled_and_matches_wagtails_read(directory, home, django_assert_num_queries):
    assert getattr(Page.get_specific, "compiled_reads", False)
    generic = Page.objects.get(pk=directory.pk)
    generic.marker = "kept"
    with django_assert_num_queries(1):
        specific = generic.specific
    assert type(specific) is type(directory)
    assert specific.marker == "kept"  # Wagtail's copy of the generic page's attributes
    assert field_values(specific) == field_values(wagtails_specific(directory))
    assert generic.get_specific(copy_attrs=()).__dict__.get("marker") is None
    assert field_values(Page.objects.get(pk=home.pk).specific) == field_values(wagtails_specific(home))


def test_page_specific_reads_the_row_each_time(directory):
    assert Page.objects.get(pk=directory.pk).specific.title == directory.title  # compiled
    type(directory).objects.filter(pk=directory.pk).update(title="Find a doctor now")
    assert Page.objects.get(pk=directory.pk).specific.title == "Find a doctor now"
    generic = Page.objects.get(pk=directory.pk)
    type(directory).objects.filter(pk=directory.pk).delete()
    with pytest.raises(type(directory).DoesNotExist):
        generic.get_specific()


def test_other_apps_pages_and_deferred_reads_are_wagtails(home):
    root = Page.get_first_root_node()
    assert Page.objects.get(pk=root.pk).specific == root  # wagtailcore's own Page: Wagtail's path
    deferred = Page.objects.get(pk=home.pk).get_specific(deferred=True)
    assert type(deferred) is type(home) and deferred.pk == home.pk
