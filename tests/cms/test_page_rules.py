"""Where each page type may be created, checked with Wagtail's own page-test assertions."""

from __future__ import annotations

from wagtail.models import Locale, Page
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from booking.models import Doctor
from cms.models import (
    ArticleIndexPage,
    ArticlePage,
    DoctorDirectoryPage,
    DoctorProfilePage,
    FacilityIndexPage,
    FacilityPage,
    HomePage,
    SpecialtyIndexPage,
    SpecialtyPage,
    StandardPage,
)
from tests.booking.scheduling.factories import DoctorFactory, SpecialtyFactory


class PageTreeRulesTests(WagtailPageTestCase):
    def setUp(self):
        self.home = HomePage.objects.get(locale=Locale.get_default())
        self.directory = self.home.add_child(instance=DoctorDirectoryPage(title="Doctors", slug="doctors"))
        self.specialties = self.home.add_child(instance=SpecialtyIndexPage(title="Specialties", slug="specialties"))
        self.news = self.home.add_child(instance=ArticleIndexPage(title="News", slug="news"))

    def test_each_page_type_has_exactly_its_parents(self):
        self.assertAllowedParentPageTypes(HomePage, {Page})
        self.assertAllowedParentPageTypes(DoctorDirectoryPage, {HomePage})
        self.assertAllowedParentPageTypes(DoctorProfilePage, {DoctorDirectoryPage})
        self.assertAllowedParentPageTypes(SpecialtyIndexPage, {HomePage})
        self.assertAllowedParentPageTypes(SpecialtyPage, {SpecialtyIndexPage})
        self.assertAllowedParentPageTypes(StandardPage, {HomePage, StandardPage})
        self.assertAllowedParentPageTypes(ArticleIndexPage, {HomePage})
        self.assertAllowedParentPageTypes(ArticlePage, {ArticleIndexPage})
        self.assertAllowedParentPageTypes(FacilityIndexPage, {HomePage})
        self.assertAllowedParentPageTypes(FacilityPage, {FacilityIndexPage})

    def test_each_page_type_has_exactly_its_children(self):
        self.assertAllowedSubpageTypes(
            HomePage, {DoctorDirectoryPage, SpecialtyIndexPage, FacilityIndexPage, ArticleIndexPage, StandardPage}
        )
        self.assertAllowedSubpageTypes(FacilityIndexPage, {FacilityPage})
        self.assertAllowedSubpageTypes(FacilityPage, set())
        self.assertAllowedSubpageTypes(DoctorDirectoryPage, {DoctorProfilePage})
        self.assertAllowedSubpageTypes(DoctorProfilePage, set())
        self.assertAllowedSubpageTypes(SpecialtyIndexPage, {SpecialtyPage})
        self.assertAllowedSubpageTypes(SpecialtyPage, set())
        self.assertAllowedSubpageTypes(StandardPage, {StandardPage})
        self.assertAllowedSubpageTypes(ArticleIndexPage, {ArticlePage})
        self.assertAllowedSubpageTypes(ArticlePage, set())

    def test_content_goes_where_it_belongs_and_nowhere_else(self):
        self.assertCanCreateAt(HomePage, StandardPage)
        self.assertCanCreateAt(StandardPage, StandardPage)
        self.assertCanCreateAt(DoctorDirectoryPage, DoctorProfilePage)
        self.assertCanCreateAt(SpecialtyIndexPage, SpecialtyPage)
        self.assertCanCreateAt(ArticleIndexPage, ArticlePage)
        self.assertCanNotCreateAt(HomePage, DoctorProfilePage)
        self.assertCanNotCreateAt(HomePage, ArticlePage)
        self.assertCanNotCreateAt(HomePage, SpecialtyPage)
        self.assertCanNotCreateAt(DoctorDirectoryPage, ArticlePage)
        self.assertCanNotCreateAt(ArticleIndexPage, DoctorProfilePage)
        self.assertCanNotCreateAt(StandardPage, DoctorDirectoryPage)
        self.assertCanNotCreateAt(Page, DoctorDirectoryPage)

    def test_a_home_page_has_one_directory_one_specialty_index_and_there_is_one_home(self):
        self.assertFalse(DoctorDirectoryPage.can_create_at(self.home))
        self.assertFalse(SpecialtyIndexPage.can_create_at(self.home))
        self.assertFalse(HomePage.can_create_at(self.home.get_parent()))
        self.assertTrue(ArticleIndexPage.can_create_at(self.home))

    def test_an_editor_form_creates_an_article_with_every_content_block(self):
        self.login()
        body = streamfield(
            [
                ("text", rich_text("<p>Rest and drink water.</p>")),
                (
                    "call_to_action",
                    {
                        "heading": "Ready?",
                        "text": "",
                        "button_label": "Find a doctor",
                        "page": self.directory.pk,
                        "url": "",
                    },
                ),
                (
                    "faq",
                    {
                        "heading": "Questions",
                        "items": streamfield([("item", {"question": "When?", "answer": rich_text("<p>Now.</p>")})]),
                    },
                ),
            ]
        )
        self.assertCanCreate(
            self.news,
            ArticlePage,
            nested_form_data({"title": "Fever", "slug": "fever", "date": "2026-11-02", "summary": "", "body": body}),
        )
        article = ArticlePage.objects.get(slug="fever")
        self.assertEqual([block.block_type for block in article.body], ["text", "call_to_action", "faq"])

    def test_an_editor_form_creates_a_doctor_profile_linked_to_a_booking_doctor(self):
        self.login()
        doctor = DoctorFactory(specialties=[SpecialtyFactory()])
        self.assertCanCreate(
            self.directory,
            DoctorProfilePage,
            nested_form_data(
                {"title": str(doctor), "slug": "dr-x", "doctor": doctor.pk, "summary": "", "body": streamfield([])}
            ),
        )
        self.assertEqual(DoctorProfilePage.objects.get(slug="dr-x").doctor, doctor)
        self.assertTrue(Doctor.objects.filter(pk=doctor.pk).exists())
