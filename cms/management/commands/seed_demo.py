"""Demo data for a laptop, the tests and the benchmarks. Idempotent: a second run changes nothing.

This is the only place demo logins are created. It lives in ``cms`` because it fills every layer
(accounts, booking, the public site) and ``cms`` is allowed to import all of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import PatientProfile, Role, User
from accounts.services import user_create
from booking.models import (
    Appointment,
    AppointmentMode,
    AppointmentStatus,
    AppointmentType,
    Availability,
    Doctor,
    Facility,
    FacilityPhoto,
    Room,
    Specialty,
    Voucher,
)
from booking.selectors import free_slots
from booking.services import (
    BookingDetails,
    appointment_book,
    appointment_complete,
    appointment_confirm,
    appointment_mark_no_show,
    availability_create,
    follow_up_suggest,
    payment_mark_cash_paid,
)
from cms.demo_photos import demo_photo
from cms.demo_site import seed_demo_site
from core.audit import audit_log
from workflows.operations.models import QueueBoard
from workflows.operations.services import queue_board_renew

DEMO_PASSWORD = "medbook-demo-2026"  # noqa: S105 - documented demo credential, local data only


@dataclass(frozen=True)
class DemoUser:
    email: str
    role: str
    first_name: str
    last_name: str


DEMO_USERS = [
    DemoUser("admin@example.com", Role.ADMIN, "An", "Nguyễn"),
    DemoUser("staff@example.com", Role.STAFF, "Bình", "Trần"),
    DemoUser("editor@example.com", Role.EDITOR, "Chi", "Lê"),
    DemoUser("doctor1@example.com", Role.DOCTOR, "Dũng", "Phạm"),
    DemoUser("doctor2@example.com", Role.DOCTOR, "Hạnh", "Võ"),
    DemoUser("doctor3@example.com", Role.DOCTOR, "Khoa", "Đặng"),
    DemoUser("patient1@example.com", Role.PATIENT, "Lan", "Hoàng"),
    DemoUser("patient2@example.com", Role.PATIENT, "Minh", "Bùi"),
]


#: names as data in each language (English name, Vietnamese name): shown in the visitor's language
DEMO_SPECIALTIES = [
    ("noi-tong-quat", ("General medicine", "Nội tổng quát"), "Khám và điều trị bệnh nội khoa cho người lớn."),
    ("nhi-khoa", ("Pediatrics", "Nhi khoa"), "Khám sức khỏe và điều trị bệnh cho trẻ em."),
]

DEMO_APPOINTMENT_TYPES = [
    (("Initial visit", "Khám lần đầu"), AppointmentType.Kind.INITIAL, 30),
    (("Follow-up visit", "Tái khám"), AppointmentType.Kind.FOLLOW_UP, 20),
]


@dataclass(frozen=True)
class DemoDoctor:
    email: str
    title: str
    specialties: tuple[str, ...]
    fee: Decimal
    years: int
    bio: str
    languages: str = "vi"
    auto_confirm: bool = True


DEMO_DOCTORS = [
    DemoDoctor(
        "doctor1@example.com",
        "BS.CKI",
        ("noi-tong-quat",),
        Decimal("300000"),
        12,
        "Bác sĩ nội tổng quát, 12 năm khám và tư vấn bệnh mạn tính: tăng huyết áp, đái tháo đường.",
        "vi, en",
    ),
    DemoDoctor(
        "doctor2@example.com",
        "ThS.BS",
        ("nhi-khoa",),
        Decimal("350000"),
        9,
        "Bác sĩ nhi khoa, chuyên dinh dưỡng và bệnh hô hấp ở trẻ nhỏ.",
    ),
    DemoDoctor(
        "doctor3@example.com",
        "BS",
        ("noi-tong-quat", "nhi-khoa"),
        Decimal("250000"),
        5,
        "Bác sĩ gia đình: khám cho cả người lớn và trẻ em, tư vấn từ xa.",
        "vi, en",
        auto_confirm=False,  # reviews each request by hand: the demo has one waiting
    ),
]

#: the demo doctors' working hours on weekdays (local time), cut into 30-minute visits
DEMO_HOURS = [(dt.time(8, 0), dt.time(11, 30)), (dt.time(13, 30), dt.time(17, 0))]
DEMO_SCHEDULE_DAYS = 14


def _seed_scheduling(created: dict[str, int]) -> None:
    """Specialties, appointment types, the demo doctors' profiles and two weeks of weekday availability.

    Availability is made only for a doctor with none in the future, so a run on a later day adds nothing
    to a doctor who already has a schedule."""
    specialties = {}
    for slug, (name, name_vi), description in DEMO_SPECIALTIES:
        specialties[slug], new = Specialty.objects.get_or_create(
            slug=slug, defaults={"name": name, "name_vi": name_vi, "description": description}
        )
        created["specialties"] += new
    for (name, name_vi), kind, minutes in DEMO_APPOINTMENT_TYPES:
        _type, new = AppointmentType.objects.get_or_create(
            name=name,
            defaults={"name_vi": name_vi, "kind": kind, "duration_minutes": minutes, "mode": AppointmentMode.VIDEO},
        )
        created["appointment_types"] += new
    users = {u.email: u for u in User.objects.filter(email__in=[d.email for d in DEMO_DOCTORS])}
    now = timezone.now()
    for demo in DEMO_DOCTORS:
        doctor, new = Doctor.objects.get_or_create(
            user=users[demo.email],
            defaults={
                "title": demo.title,
                "bio": demo.bio,
                "languages": demo.languages,
                "years_of_experience": demo.years,
                "consultation_fee": demo.fee,
                "currency": "VND",
                "is_active": True,
                "auto_confirm": demo.auto_confirm,
            },
        )
        if new:
            doctor.specialties.set([specialties[slug] for slug in demo.specialties])
            audit_log(actor=None, action="booking.doctor.created", obj=doctor, data={"source": "seed_demo"})
            created["doctors"] += 1
        today = now.astimezone(doctor.zone).date()
        if Availability.objects.filter(doctor=doctor, date__gt=today).exists():
            continue
        for offset in range(1, DEMO_SCHEDULE_DAYS + 1):
            day = today + dt.timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for start, end in DEMO_HOURS:
                availability = availability_create(
                    doctor=doctor, date=day, start_time=start, end_time=end, slot_minutes=30, actor=None, now=now
                )
                created["availability"] += 1
                created["slots"] += availability.slots.count()


def _seed_weekly_rule(created: dict[str, int]) -> None:
    """The first demo doctor keeps Saturday mornings as a standing weekly rule (issue 17 item 4). The
    seed only writes the rule: the worker's hourly task publishes it (its first run is at the worker's
    start), or staff press "Publish the selected rules now"; so the seed stays the same on any day."""
    from booking.models import AvailabilityRule

    doctor = Doctor.objects.filter(user__email=DEMO_DOCTORS[0].email).first()
    if doctor is not None:
        AvailabilityRule.objects.get_or_create(
            doctor=doctor, weekday=5, start_time=dt.time(8), defaults={"end_time": dt.time(11), "slot_minutes": 30}
        )


def _seed_visits(created: dict[str, int]) -> None:
    """A confirmed visit for patient1 with doctor1, paid at the desk, and a follow-up suggestion from
    doctor2 — made once (only while patient1 has no appointment at all), through the booking services."""
    patient = User.objects.get(email="patient1@example.com")
    if Appointment.objects.filter(patient=patient).exists():
        return
    staff = User.objects.get(email="staff@example.com")
    now = timezone.now()
    first = Doctor.objects.get(user__email="doctor1@example.com")
    slot = free_slots(doctor=first, start=now, end=now + dt.timedelta(days=DEMO_SCHEDULE_DAYS + 7), now=now).first()
    if slot is not None:
        details = BookingDetails.from_patient(patient, reason="Demo: annual check-up")
        visit = appointment_book(
            slot=slot,
            patient=patient,
            actor=staff,
            details=replace(details, phone=details.phone or "+84 90 000 0001"),
            now=now,
        )
        payment_mark_cash_paid(appointment=visit, actor=staff, now=now)
        created["appointments"] += 1
    second = Doctor.objects.get(user__email="doctor2@example.com")
    visited = _past_visit(second, patient, staff, days_ago=3, created=created)
    follow_up_suggest(
        doctor_user=second.user,
        patient=patient,
        parent=visited,
        suggested_date=(now + dt.timedelta(days=7)).date(),
        appointment_type=AppointmentType.objects.filter(kind="follow_up").first(),
        notes="Demo: let us check how the treatment works.",
        now=now,
    )
    created["appointments"] += 1


def _seed_every_state(created: dict[str, int]) -> None:
    """What a newcomer needs to try every flow (issue 18): the voucher WELCOME10, a patient with a phone
    number, and a visit patient2 did not come to (a no-show with doctor1, a week ago) — made once."""
    _voucher, new = Voucher.objects.get_or_create(
        code="WELCOME10", defaults={"kind": Voucher.Kind.PERCENT, "value": Decimal("10")}
    )
    created["vouchers"] += new
    PatientProfile.objects.filter(user__email="patient1@example.com", phone="").update(phone="+84900000001")
    # patient1 also signs in with that number ("Send me a sign-in code": the code is in the SMS log)
    PatientProfile.objects.filter(user__email="patient1@example.com", phone="+84900000001").exclude(
        phone__in=PatientProfile.objects.filter(phone_verified=True)
        .exclude(user__email="patient1@example.com")
        .values("phone")
    ).update(phone_verified=True)
    absent = User.objects.get(email="patient2@example.com")
    if Appointment.objects.filter(patient=absent).exists():
        return
    staff = User.objects.get(email="staff@example.com")
    doctor = Doctor.objects.get(user__email="doctor1@example.com")
    _past_visit(doctor, absent, staff, days_ago=7, created=created, came=False)


DEMO_FACILITY = {
    "slug": "medbook-quan-1",
    "name": "Phòng khám Medbook Quận 1",
    "address": "12 Lê Lợi, Phường Bến Nghé",
    "district": "Quận 1",
    "city": "Thành phố Hồ Chí Minh",
    "phone": "+84 28 3800 0000",
    "latitude": Decimal("10.773300"),
    "longitude": Decimal("106.703500"),
    # one text for both languages (staff type it once): Vietnamese first, English in brackets
    "opening_hours": "Thứ 2–Thứ 6 (Mon–Fri) 07:30–17:00\nThứ 7 (Sat) 08:00–12:00",
}
DEMO_ROOM = "101"  # pages write "Room 101" / "Phòng 101" around the name

#: the demo clinic's photos (drawings, see ``cms.demo_photos``): kind, alt text and caption in each language
DEMO_FACILITY_PHOTOS = [
    (
        "reception",
        ("Drawing of the reception desk under a green cross", "Hình vẽ quầy lễ tân dưới chữ thập xanh"),
        ("Reception, ground floor", "Quầy lễ tân, tầng trệt"),
    ),
    (
        "waiting-room",
        ("Drawing of the waiting room: a row of chairs by a window", "Hình vẽ phòng chờ: một hàng ghế cạnh cửa sổ"),
        ("Waiting room", "Phòng chờ"),
    ),
    (
        "consulting-room",
        ("Drawing of a consulting room with an examination couch", "Hình vẽ phòng khám với giường khám bệnh"),
        ("Consulting room 101", "Phòng khám 101"),
    ),
]


def _seed_clinic_visits(created: dict[str, int]) -> None:
    """The rest of what a newcomer tries (issue 18 item 13), made once (while patient2 has no visit with
    doctor3): the demo clinic with a room, where doctor1 sees patients in person on one afternoon, and
    patient1 booked there; a request waiting for doctor3, who confirms by hand; and a visit patient2 had
    with doctor3 two days ago, completed and ready for a follow-up."""
    facility, new = Facility.objects.get_or_create(slug=DEMO_FACILITY["slug"], defaults=DEMO_FACILITY)
    created["facilities"] += new
    room, new = Room.objects.get_or_create(facility=facility, name=DEMO_ROOM)
    created["rooms"] += new
    if not facility.photos.exists():
        for position, (kind, (alt, alt_vi), (caption, caption_vi)) in enumerate(DEMO_FACILITY_PHOTOS):
            FacilityPhoto.objects.create(
                facility=facility,
                image=demo_photo(kind),
                alt_text=alt,
                alt_text_vi=alt_vi,
                caption=caption,
                caption_vi=caption_vi,
                position=position,
            )
            created["facility_photos"] += 1
    if not QueueBoard.objects.filter(facility=facility).exists():  # the waiting-room screen's link
        queue_board_renew(facility=facility, actor=User.objects.get(email="staff@example.com"))
        created["queue_boards"] += 1
    patient2 = User.objects.get(email="patient2@example.com")
    reviewer = Doctor.objects.get(user__email="doctor3@example.com")
    if Appointment.objects.filter(patient=patient2, doctor=reviewer).exists():
        return
    staff = User.objects.get(email="staff@example.com")
    patient1 = User.objects.get(email="patient1@example.com")
    now = timezone.now()
    # in person: doctor1 at the clinic, on the first weekday after tomorrow, 18:00-19:30 local time
    doctor1 = Doctor.objects.get(user__email="doctor1@example.com")
    day = now.astimezone(doctor1.zone).date() + dt.timedelta(days=2)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    at_clinic = availability_create(
        doctor=doctor1,
        date=day,
        start_time=dt.time(18, 0),
        end_time=dt.time(19, 30),
        slot_minutes=30,
        actor=None,
        now=now,
        mode=AppointmentMode.IN_PERSON,
        facility=facility,
        room=room,
    )
    created["availability"] += 1
    created["slots"] += at_clinic.slots.count()
    in_person = _book(at_clinic.slots.order_by("start").first(), patient1, staff, "Demo: blood pressure check", now=now)
    payment_mark_cash_paid(appointment=in_person, actor=staff, now=now)
    created["appointments"] += 1
    # a request waiting for doctor3 (paid at the desk; doctor3 reviews requests by hand)
    slot = free_slots(doctor=reviewer, start=now, end=now + dt.timedelta(days=DEMO_SCHEDULE_DAYS + 7), now=now).first()
    if slot is not None:
        request = _book(slot, patient2, staff, "Demo: cough for two weeks", now=now)
        payment_mark_cash_paid(appointment=request, actor=staff, now=now)
        created["appointments"] += 1
    # a completed visit with no follow-up yet: doctor3 can suggest one
    _past_visit(reviewer, patient2, staff, days_ago=2, created=created)


def _book(slot, patient, staff, reason: str, *, now) -> Appointment:
    details = BookingDetails.from_patient(patient, reason=reason)
    return appointment_book(
        slot=slot,
        patient=patient,
        actor=staff,
        details=replace(details, phone=details.phone or "+84 90 000 0002"),
        now=now,
    )


def _past_visit(
    doctor: Doctor, patient, staff, *, days_ago: int, created: dict[str, int], came: bool = True
) -> Appointment:
    """A visit that took place ``days_ago`` days ago, replayed through the services at the moments each
    step happened: published, booked and paid the day before, completed after it started (or marked a
    no-show an hour after its start when the patient did not come)."""
    zone = doctor.zone
    day = (timezone.now().astimezone(zone) - dt.timedelta(days=days_ago)).date()
    start = dt.datetime.combine(day, dt.time(9, 0), tzinfo=zone)
    before = start - dt.timedelta(days=1)
    availability = availability_create(
        doctor=doctor,
        date=day,
        start_time=dt.time(9, 0),
        end_time=dt.time(9, 30),
        slot_minutes=30,
        actor=None,
        now=before,
    )
    created["availability"] += 1
    details = BookingDetails.from_patient(patient, reason="Demo: first consultation")
    visit = appointment_book(
        slot=availability.slots.get(),
        patient=patient,
        actor=staff,
        details=replace(details, phone=details.phone or "+84 90 000 0001"),
        now=before,
    )
    payment_mark_cash_paid(appointment=visit, actor=staff, now=before)
    visit.refresh_from_db()
    if visit.status == AppointmentStatus.PENDING:  # a doctor who reviews requests confirmed it by hand
        appointment_confirm(appointment=visit, actor=doctor.user, now=before + dt.timedelta(hours=1))
    if came:
        appointment_complete(appointment=visit, actor=doctor.user, now=start + dt.timedelta(minutes=25))
    else:
        appointment_mark_no_show(appointment=visit, actor=doctor.user, now=start + dt.timedelta(hours=1))
    created["appointments"] += 1
    return visit


def seed_demo() -> dict[str, int]:
    """Create whatever demo data is missing; returns how many objects of each kind were created."""
    created = {
        "users": 0,
        "specialties": 0,
        "appointment_types": 0,
        "doctors": 0,
        "availability": 0,
        "slots": 0,
        "appointments": 0,
        "vouchers": 0,
        "facilities": 0,
        "rooms": 0,
        "facility_photos": 0,
        "queue_boards": 0,
    }
    with transaction.atomic():
        existing = set(User.objects.filter(email__in=[u.email for u in DEMO_USERS]).values_list("email", flat=True))
        for demo in DEMO_USERS:
            if demo.email in existing:
                continue
            user_create(
                email=demo.email,
                role=demo.role,
                password=DEMO_PASSWORD,
                first_name=demo.first_name,
                last_name=demo.last_name,
                email_verified=True,
            )
            created["users"] += 1
        _seed_scheduling(created)
        _seed_weekly_rule(created)
        _seed_visits(created)
        _seed_every_state(created)
        _seed_clinic_visits(created)
        _seed_family(created)
    created.update(seed_demo_site(doctor_emails=[d.email for d in DEMO_DOCTORS]))
    return created


def _seed_family(created: dict[str, int]) -> None:
    """patient1's daughter, a family member without a login (accounts.family): patient1 books for her
    ("Who is this visit for?") and manages her visits from the Family page. Made once."""
    import datetime as dt

    from accounts.family import dependant_add

    holder = User.objects.get(email="patient1@example.com")
    if holder.dependants.exists():
        return
    dependant_add(
        holder=holder,
        actor=holder,
        first_name="Bảo An",
        last_name="Hoàng",
        date_of_birth=dt.date(2017, 9, 2),
        gender="female",
        relationship="child",
    )
    created["family_members"] = created.get("family_members", 0) + 1


class Command(BaseCommand):
    help = "Create Medbook's demo accounts and content (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the demo accounts.")

    def handle(self, *args, quiet=False, **options):
        created = seed_demo()
        summary = ", ".join(f"{count} {kind}" for kind, count in created.items())
        self.stdout.write(f"demo data: created {summary}")
        if not quiet:
            self.stdout.write("")
            self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD})")
            for demo in DEMO_USERS:
                self.stdout.write(f"  {demo.role:<8} {demo.email}")
            self.stdout.write("")
            site = settings.SITE_URL.rstrip("/")  # `make run PORT=…` passes it on
            self.stdout.write(f"  site   {site}/        portal {site}/portal/")
            self.stdout.write(f"  admin  {site}/admin/  cms    {site}/cms/")
