from django.core.management import call_command

from accounts.models import User
from cms.management.commands.seed_demo import DEMO_PASSWORD
from cms.models import HomePage


def snapshot():
    return sorted(User.objects.values_list("email", "role", "password", "is_staff", "is_superuser", "first_name"))


def test_seed_demo_creates_every_account_once_and_twice_changes_nothing(db):
    call_command("seed_demo", "--quiet")
    first = snapshot()
    emails = {row[0] for row in first}
    assert {"admin@example.com", "staff@example.com", "editor@example.com", "patient1@example.com"} <= emails
    assert {f"doctor{i}@example.com" for i in (1, 2, 3)} <= emails
    call_command("seed_demo", "--quiet")
    assert snapshot() == first
    admin = User.objects.get(email="admin@example.com")
    assert admin.check_password(DEMO_PASSWORD) and admin.is_superuser
    assert admin.emailaddress_set.get().verified
    assert User.objects.get(email="editor@example.com").groups.filter(name="Editors").exists()


def test_no_demo_login_exists_without_seed_demo(db):
    assert not User.objects.filter(email__endswith="@example.com").exists()


def test_home_page_is_served_at_the_root(client, db):
    assert HomePage.objects.live().count() == 1
    response = client.get("/")
    assert response.status_code == 200
    assert "Medbook" in response.content.decode()


def page_snapshot():
    from wagtail.models import Page

    return sorted(
        Page.objects.values_list("pk", "url_path", "locale__language_code", "live", "latest_revision_id", "title")
    )


def test_seed_demo_builds_the_whole_public_site_in_both_languages_and_twice_changes_nothing(client, db):
    from booking.models import Doctor
    from cms.management.commands.seed_demo import DEMO_DOCTORS
    from cms.models import ArticlePage, ClinicSettings, DoctorDirectoryPage, DoctorProfilePage, SpecialtyPage

    call_command("seed_demo", "--quiet")
    pages = page_snapshot()
    call_command("seed_demo", "--quiet")
    assert page_snapshot() == pages

    demo_doctors = Doctor.objects.filter(user__email__in=[d.email for d in DEMO_DOCTORS])
    assert demo_doctors.count() == len(DEMO_DOCTORS)
    for language in ("en", "vi"):
        live = {"locale__language_code": language, "live": True}
        assert DoctorDirectoryPage.objects.filter(**live).count() == 1
        assert set(DoctorProfilePage.objects.filter(**live).values_list("doctor_id", flat=True)) == set(
            demo_doctors.values_list("pk", flat=True)
        )
        assert ArticlePage.objects.filter(**live).count() == 2
        assert SpecialtyPage.objects.filter(**live).count() >= 2
    assert ClinicSettings.objects.get().phone

    for page in DoctorProfilePage.objects.filter(locale__language_code="en"):
        html = client.get(page.url).content.decode()
        assert f"/portal/book/{page.doctor_id}/?slot=" in html  # the demo doctors have free slots
    html = client.get("/").content.decode()
    assert "Latest articles" in html


def test_the_demo_shows_every_state_a_newcomer_tries(db):
    """Issue 18 item 13: a confirmed visit, a completed visit with a follow-up suggested, a no-show, the
    WELCOME10 voucher and a patient with a phone number, made once."""
    from booking.models import Appointment, AppointmentStatus, Voucher

    call_command("seed_demo", "--quiet")
    statuses = set(Appointment.objects.values_list("status", flat=True))
    assert {AppointmentStatus.CONFIRMED, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW} <= statuses
    assert Appointment.objects.filter(is_follow_up_suggestion=True, parent__status=AppointmentStatus.COMPLETED).exists()
    no_show = Appointment.objects.get(status=AppointmentStatus.NO_SHOW)
    assert (no_show.patient.email, no_show.doctor.user.email) == ("patient2@example.com", "doctor1@example.com")
    voucher = Voucher.objects.get(code="WELCOME10")
    assert voucher.is_active and voucher.value == 10
    profile = User.objects.get(email="patient1@example.com").patient_profile
    assert (profile.phone, profile.phone_verified) == ("+84900000001", True)  # signs in by phone too
    counted = Appointment.objects.count()
    call_command("seed_demo", "--quiet")
    assert Appointment.objects.count() == counted and Voucher.objects.count() == 1


def test_the_demo_has_a_request_waiting_a_visit_ready_for_a_follow_up_and_an_in_person_visit(db):
    """Issue 18 item 13, the rest: doctor3 confirms by hand and has a paid request waiting; a completed
    visit with no follow-up yet; a confirmed in-person visit at the demo clinic's room and a video one;
    a second run changes nothing."""
    from booking import rules
    from booking.models import Appointment, AppointmentMode, AppointmentStatus, Doctor, Facility, Room, Slot
    from booking.rules import Action

    call_command("seed_demo", "--quiet")
    reviewer = Doctor.objects.get(user__email="doctor3@example.com")
    assert reviewer.auto_confirm is False
    waiting = Appointment.objects.get(doctor=reviewer, status=AppointmentStatus.PENDING)
    assert waiting.patient.email == "patient2@example.com"
    ready = Appointment.objects.get(doctor=reviewer, status=AppointmentStatus.COMPLETED)
    assert not Appointment.objects.filter(parent=ready).exists()
    from django.utils import timezone

    assert Action.SUGGEST_FOLLOW_UP in rules.available_actions(
        appointment=ready, user=reviewer.user, now=timezone.now()
    )
    in_person = Appointment.objects.get(mode=AppointmentMode.IN_PERSON)
    assert in_person.status == AppointmentStatus.CONFIRMED
    slot = Slot.objects.get(pk=in_person.slot_id)
    assert slot.availability.facility == Facility.objects.get() and slot.availability.room == Room.objects.get()
    assert Appointment.objects.filter(mode=AppointmentMode.VIDEO, status=AppointmentStatus.CONFIRMED).exists()

    counts = (Appointment.objects.count(), Slot.objects.count(), Facility.objects.count(), Room.objects.count())
    call_command("seed_demo", "--quiet")
    assert (Appointment.objects.count(), Slot.objects.count(), Facility.objects.count(), Room.objects.count()) == counts


def test_the_demo_clinic_has_a_page_with_photos_in_both_languages_made_once(client, db):
    """The clinics section lists the demo clinic; its page shows the clinic's three photos (drawn by
    ``cms.demo_photos``) with alt text in the page's language; a second run adds no photo or page."""
    import re

    from booking.models import Facility, FacilityPhoto
    from cms.models import FacilityIndexPage, FacilityPage

    call_command("seed_demo", "--quiet")
    facility = Facility.objects.get()
    photos = list(facility.photos.order_by("position"))
    assert len(photos) == 3 and all(photo.alt_text and photo.alt_text_vi for photo in photos)
    assert facility.map_url  # the demo clinic has coordinates: the booking shows a map link
    for language in ("en", "vi"):
        assert FacilityIndexPage.objects.live().filter(locale__language_code=language, show_in_menus=True).exists()
        page = FacilityPage.objects.live().get(locale__language_code=language, facility=facility)
        client.cookies["django_language"] = language
        html = client.get(page.url).content.decode()
        alts = re.findall(r'<img src="/media/facilities/[^"]+" alt="([^"]+)"', html)
        assert alts == [photo.alt_text if language == "en" else photo.alt_text_vi for photo in photos]
    pages = FacilityPage.objects.count()
    call_command("seed_demo", "--quiet")
    assert (FacilityPhoto.objects.count(), FacilityPage.objects.count()) == (3, pages)
