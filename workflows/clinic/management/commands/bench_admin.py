"""Time the admin's busiest pages on a large clinic: ``manage.py bench_admin --rows 100000``.

The rows are written inside one transaction that is rolled back at the end, so the database you run
it on (the dev SQLite file or ``DATABASE_URL``) is left as it was. Pages are fetched through the
Django test client in this process (same connection, so they see the uncommitted rows) as a clinic
admin, a staff member and a doctor; each is timed ``--repeat`` times after one warm-up, and the
median and the number of queries are printed. It is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import PatientProfile, Role, User
from booking.models import Appointment, AppointmentType, Doctor, Payment, Specialty

STATUSES = [
    ("completed", 45),
    ("confirmed", 15),
    ("cancelled", 15),
    ("expired", 10),
    ("no_show", 5),
    ("pending", 5),
    ("pending_payment", 3),
    ("pending_patient_confirmation", 2),
]
LAST_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
FIRST_NAMES = ["An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Khoa", "Lan", "Mai", "Nam", "Phúc", "Quân", "Thảo"]


#: what Django stores for "no password" (nobody logs in as a generated user)
UNUSABLE = "!"


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the appointment changelist and other admin pages on N generated appointments (rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000, help="appointments to generate")
        parser.add_argument("--doctors", type=int, default=40)
        parser.add_argument("--patients", type=int, default=5_000)
        parser.add_argument("--repeat", type=int, default=5, help="timed runs per page (after one warm-up)")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, rows, doctors, patients, repeat, seed, **options):
        if rows < 1 or doctors < 1 or patients < 1:
            raise CommandError("--rows, --doctors and --patients must be positive")
        if "testserver" not in settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        self.rng = random.Random(seed)  # noqa: S311 - made-up data, not secrets
        vendor = connection.vendor
        self.stdout.write(f"database: {vendor} ({connection.settings_dict['NAME']}); generating {rows:,} appointments…")
        try:
            with transaction.atomic():
                started = time.perf_counter()
                people = self._generate(rows=rows, doctors=doctors, patients=patients)
                self.stdout.write(
                    f"generated in {time.perf_counter() - started:.1f} s; timing pages ({repeat} runs each)"
                )
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
                self._time_pages(people, repeat=repeat)
                raise Rollback
        except Rollback:
            self.stdout.write("rolled back: the database is as it was")

    # --- data ---------------------------------------------------------------------------------

    def _generate(self, *, rows: int, doctors: int, patients: int) -> dict:
        rng = self.rng
        tag = f"bench{rng.randrange(10**6)}"
        admin = User.objects.create_user(email=f"{tag}.admin@bench.test", role=Role.ADMIN)
        staff = User.objects.create_user(email=f"{tag}.staff@bench.test", role=Role.STAFF)
        specialties = [
            Specialty.objects.create(name=f"{tag} specialty {i}", slug=f"{tag}-specialty-{i}") for i in range(6)
        ]
        kinds = [
            AppointmentType.objects.create(name=f"{tag} visit {i}", duration_minutes=30 if i else 20) for i in range(3)
        ]
        doctor_users = User.objects.bulk_create(
            User(
                email=f"{tag}.doctor{i}@bench.test",
                role=Role.DOCTOR,
                is_staff=True,
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                password=UNUSABLE,
            )
            for i in range(doctors)
        )
        doctor_rows = Doctor.objects.bulk_create(
            Doctor(user=user, is_active=True, consultation_fee=Decimal("300000")) for user in doctor_users
        )
        Doctor.specialties.through.objects.bulk_create(
            Doctor.specialties.through(doctor_id=d.pk, specialty_id=rng.choice(specialties).pk) for d in doctor_rows
        )
        patient_users = User.objects.bulk_create(
            (
                User(
                    email=f"{tag}.patient{i}@bench.test",
                    role=Role.PATIENT,
                    first_name=rng.choice(FIRST_NAMES),
                    last_name=rng.choice(LAST_NAMES),
                    password=UNUSABLE,
                )
                for i in range(patients)
            ),
            batch_size=2000,
        )
        PatientProfile.objects.bulk_create(
            (
                PatientProfile(
                    user=user, phone=f"09{rng.randrange(10**8):08d}", national_id=f"0790{rng.randrange(10**8):08d}"
                )
                for user in patient_users
            ),
            batch_size=2000,
        )
        # the doctor user logs in through the role group like a real doctor
        doctor_rows[0].user.save()
        now = timezone.now()
        statuses = [status for status, weight in STATUSES for _ in range(weight)]
        batch: list[Appointment] = []
        for _ in range(rows):
            status = rng.choice(statuses)
            patient = rng.choice(patient_users)
            start = (now + timedelta(days=rng.randint(-540, 60), minutes=30 * rng.randint(0, 20))).replace(
                second=0, microsecond=0
            )
            suggestion = status == "pending_patient_confirmation"
            batch.append(
                Appointment(
                    doctor=rng.choice(doctor_rows),
                    patient=patient,
                    appointment_type=rng.choice(kinds),
                    starts_at=None if suggestion else start,
                    ends_at=None if suggestion else start + timedelta(minutes=30),
                    status=status,
                    hold_expires_at=now + timedelta(minutes=rng.randint(-60, 10))
                    if status == "pending_payment"
                    else None,
                    mode=rng.choice(["video", "in_person"]),
                    first_name=patient.first_name,
                    last_name=patient.last_name,
                    phone="0900000000",
                    email=patient.email,
                    price=Decimal("300000"),
                    currency="VND",
                    is_follow_up_suggestion=suggestion,
                    cancelled_late=status == "cancelled" and rng.random() < 0.3,
                )
            )
            if len(batch) == 5000:
                Appointment.objects.bulk_create(batch)
                batch = []
        if batch:
            Appointment.objects.bulk_create(batch)
        paid_ids = list(
            Appointment.objects.filter(
                status__in=["completed", "confirmed", "no_show", "pending"], email__startswith=tag
            ).values_list("pk", "starts_at")
        )
        Payment.objects.bulk_create(
            (
                Payment(
                    appointment_id=pk,
                    gateway="cash",
                    amount=Decimal("300000"),
                    currency="VND",
                    status="succeeded",
                    paid_at=starts_at - timedelta(days=1),
                )
                for pk, starts_at in paid_ids
            ),
            batch_size=5000,
        )
        return {
            "admin": admin,
            "staff": staff,
            "doctor": doctor_rows[0].user,
            "surname": patient_users[0].last_name,
            "phone": PatientProfile.objects.get(user=patient_users[0]).phone,
        }

    # --- timing -------------------------------------------------------------------------------

    def _time_pages(self, people: dict, *, repeat: int) -> None:
        today = timezone.localdate()
        month_ago = today - timedelta(days=30)
        pages = [
            ("admin", "/admin/booking/appointment/", "appointment list, first page"),
            ("admin", "/admin/booking/appointment/?status__exact=confirmed", "filtered by status"),
            (
                "admin",
                f"/admin/booking/appointment/?starts_at_from_0={month_ago}&starts_at_from_1=00:00"
                f"&starts_at_to_0={today}&starts_at_to_1=23:59",
                "filtered by a month of dates",
            ),
            ("admin", f"/admin/booking/appointment/?q={people['surname']}", "searched by surname"),
            ("admin", "/admin/booking/appointment/?p=200", "page 200"),
            ("staff", "/admin/booking/appointment/", "appointment list as staff"),
            ("doctor", "/admin/booking/appointment/", "a doctor's own appointments"),
            ("admin", "/admin/booking/payment/?status__exact=succeeded", "payments, succeeded"),
            ("staff", f"/admin/accounts/patientprofile/?q={people['phone']}", "patients searched by phone"),
            ("admin", "/admin/", "admin dashboard (30 days)"),
            ("staff", "/admin/", "staff dashboard"),
            ("doctor", "/admin/", "doctor dashboard"),
        ]
        clients = {}
        for role in ("admin", "staff", "doctor"):
            clients[role] = Client()
            clients[role].force_login(people[role])
        self.stdout.write(f"{'page':<38} {'role':<7} {'median ms':>10} {'max ms':>8} {'queries':>8}")
        for role, url, label in pages:
            client = clients[role]
            response = client.get(url)
            if response.status_code != 200:
                raise CommandError(f"{url} as {role} answered {response.status_code}")
            timings = []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    client.get(url)
                    timings.append((time.perf_counter() - started) * 1000)
            self.stdout.write(
                f"{label:<38} {role:<7} {statistics.median(timings):>10.1f} {max(timings):>8.1f} {len(queries):>8}"
            )
