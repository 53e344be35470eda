"""The public site's personas and page tree: Dr. Châu (general medicine) and Dr. Giang (pediatrics),
a home page with the doctor directory, specialties and news sections, in English; Vietnamese on demand."""

from __future__ import annotations

import pytest
from wagtail.models import Locale, Page

from cms.models import (
    ArticleIndexPage,
    ArticlePage,
    DoctorDirectoryPage,
    DoctorProfilePage,
    HomePage,
    SpecialtyIndexPage,
    SpecialtyPage,
    StandardPage,
)
from tests.booking.scheduling.factories import DoctorFactory, SpecialtyFactory, make_availability
from tests.factories import make_user


def publish(parent: Page, page: Page) -> Page:
    """Add ``page`` under ``parent`` and publish it, as an editor would."""
    parent.add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def translate(page: Page, language: str = "vi", **fields) -> Page:
    """Publish ``page``'s translation (its parent must be translated already), with ``fields`` changed."""
    copy = page.copy_for_translation(Locale.objects.get(language_code=language))
    for name, value in fields.items():
        setattr(copy, name, value)
    copy.save_revision().publish()
    copy.refresh_from_db()
    return copy


@pytest.fixture
def home(db):
    return HomePage.objects.get(locale=Locale.get_default())


@pytest.fixture
def directory(home):
    return publish(home, DoctorDirectoryPage(title="Find a doctor", slug="doctors", show_in_menus=True, per_page=20))


@pytest.fixture
def specialty_index(home):
    return publish(home, SpecialtyIndexPage(title="Specialties", slug="specialties", show_in_menus=True))


@pytest.fixture
def news(home):
    return publish(home, ArticleIndexPage(title="Health news", slug="news", show_in_menus=True))


@pytest.fixture
def general_medicine(db):
    return SpecialtyFactory(name="Nội tổng quát", slug="noi-tong-quat", description="Adult general medicine.")


@pytest.fixture
def pediatrics(db):
    return SpecialtyFactory(name="Nhi khoa", slug="nhi-khoa")


@pytest.fixture
def dr_chau(doctor_chau, general_medicine):
    """Active, English and Vietnamese speaking, with free slots tomorrow morning."""
    doctor = DoctorFactory(
        user=doctor_chau, specialties=[general_medicine], bio="Twenty years of family medicine.", languages="vi, en"
    )
    make_availability(doctor, days=1, start="09:00", end="11:00", minutes=30)
    return doctor


@pytest.fixture
def dr_giang(db, pediatrics):
    user = make_user("giang.doctor@clinic.test", "doctor", first_name="Giang", last_name="Lý")
    return DoctorFactory(user=user, specialties=[pediatrics])


@pytest.fixture
def chau_profile(directory, dr_chau):
    return publish(directory, DoctorProfilePage(title="Dr. Châu Test", slug="dr-chau", doctor=dr_chau, summary="GP."))


@pytest.fixture
def general_medicine_page(specialty_index, general_medicine):
    return publish(
        specialty_index,
        SpecialtyPage(title="General medicine", slug="general-medicine", specialty=general_medicine),
    )


@pytest.fixture
def article(news):
    return publish(
        news,
        ArticlePage(
            title="Fever in children",
            slug="fever",
            summary="When a fever needs a doctor.",
            body=[{"type": "text", "value": "<p>Most fevers pass by themselves.</p>"}],
        ),
    )


@pytest.fixture
def about(home):
    return publish(home, StandardPage(title="About us", slug="about", intro="A small clinic."))
