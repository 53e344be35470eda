"""Onboarded doctors get a draft profile page for editors to complete and publish, exactly once."""

from __future__ import annotations

from django_q.tasks import async_task
from wagtail.models import Locale

from cms.models import DoctorProfilePage
from cms.services import doctor_profile_pages_sync
from core.models import AuditLog
from tests.booking.scheduling.factories import DoctorFactory


def test_an_active_doctor_without_a_page_gets_one_draft_under_the_directory(directory, dr_chau):
    [page] = doctor_profile_pages_sync()

    assert page.doctor == dr_chau
    assert page.get_parent().pk == directory.pk
    assert page.locale == Locale.get_default()
    assert page.live is False and page.has_unpublished_changes
    assert page.title == str(dr_chau)
    assert page.slug == "dr-chau-test"
    assert page.latest_revision is not None  # editors open it in the page editor as a draft
    assert AuditLog.objects.filter(action="cms.doctor_profile_page.draft_created", object_id=str(page.pk)).exists()


def test_a_second_sync_creates_nothing(directory, dr_chau, dr_giang):
    assert len(doctor_profile_pages_sync()) == 2
    assert doctor_profile_pages_sync() == []
    assert DoctorProfilePage.objects.count() == 2


def test_doctors_with_a_page_or_not_active_are_left_alone(directory, chau_profile, dr_chau, dr_giang):
    dr_giang.is_active = False
    dr_giang.save(update_fields=["is_active"])
    never_onboarded = DoctorFactory(is_active=False)

    assert doctor_profile_pages_sync() == []
    assert not DoctorProfilePage.objects.filter(doctor__in=[dr_giang, never_onboarded]).exists()

    dr_giang.is_active = True  # onboarded later
    dr_giang.save(update_fields=["is_active"])
    assert [page.doctor for page in doctor_profile_pages_sync()] == [dr_giang]


def test_an_unpublished_page_still_counts_as_the_doctors_page(directory, chau_profile):
    chau_profile.unpublish()
    assert doctor_profile_pages_sync() == []


def test_sync_can_be_limited_to_given_doctors(directory, dr_chau, dr_giang):
    assert [page.doctor for page in doctor_profile_pages_sync(doctor_ids=[dr_giang.pk])] == [dr_giang]


def test_without_a_directory_nothing_is_created(dr_chau):
    assert doctor_profile_pages_sync() == []
    assert not DoctorProfilePage.objects.exists()


def test_the_worker_task_creates_the_drafts(directory, dr_chau):
    # Q_CLUSTER sync=True in tests: the task runs inline, as the worker would run it.
    async_task("cms.tasks.sync_doctor_profiles")
    assert DoctorProfilePage.objects.filter(doctor=dr_chau, live=False).count() == 1
    async_task("cms.tasks.sync_doctor_profiles")
    assert DoctorProfilePage.objects.filter(doctor=dr_chau).count() == 1
