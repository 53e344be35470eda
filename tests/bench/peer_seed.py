"""Seed the peer (django-appointment) with the benchmark's data; run by the harness with the peer's
virtualenv in ``var/bench/peer``: ``python peer_seed.py META.json`` (env ``PEER_DB`` etc.).

Same shape as Medbook's seed (``mb_seed.py``): ``BENCH_DOCTORS`` staff members with Monday–Friday
08:00–17:00 working hours and a 30-minute service, the next 30 days (tomorrow … today + 30), 20% of
the 30-minute slots booked (an AppointmentRequest + Appointment each, as the package stores a
booking), and patients with one shared password for the booking load (they log in like browsers).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import time
import uuid

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproject.settings")
import django  # noqa: E402

django.setup()

from appointment.models import (  # noqa: E402
    Appointment,
    AppointmentRequest,
    Config,
    Service,
    StaffMember,
    WorkingHours,
)
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

N_DOCTORS = int(os.environ.get("BENCH_DOCTORS", "200"))
N_PATIENTS = int(os.environ.get("BENCH_PEER_PATIENTS", "100"))
BOOKED = float(os.environ.get("BENCH_BOOKED", "0.20"))
PASSWORD = "bench-peer-patient-1"
START, END, SLOT = dt.time(8, 0), dt.time(17, 0), dt.timedelta(minutes=30)

User = get_user_model()
rnd = random.Random(42)
started = time.perf_counter()
with transaction.atomic():
    Config(slot_duration=30, lead_time=START, finish_time=END, appointment_buffer_time=0, website_name="Peer").save()
    service = Service.objects.create(name="Consultation", duration=dt.timedelta(minutes=30), price=0)
    unusable = make_password(None)
    doctors = User.objects.bulk_create(
        User(
            username=f"doc{i:03d}",
            first_name=f"Doc{i:03d}",
            last_name="Smith",
            email=f"doc{i:03d}@clinic.test",
            is_staff=True,
            password=unusable,
        )
        for i in range(N_DOCTORS)
    )
    shared = make_password(PASSWORD)  # hashed once: every bench patient has the same password
    patients = User.objects.bulk_create(
        User(
            username=f"pat{i:04d}",
            first_name=f"Pat{i:04d}",
            last_name="Jones",
            email=f"pat{i:04d}@mail.test",
            password=shared,
        )
        for i in range(N_PATIENTS)
    )
    staff = []
    for user in doctors:
        member = StaffMember.objects.create(
            user=user, slot_duration=30, lead_time=START, finish_time=END, appointment_buffer_time=0
        )
        member.services_offered.add(service)
        staff.append(member)
    # the package numbers weekdays 0 = Sunday … 6 = Saturday: 1..5 is Monday..Friday
    WorkingHours.objects.bulk_create(
        WorkingHours(staff_member=m, day_of_week=d, start_time=START, end_time=END) for m in staff for d in range(1, 6)
    )
    today = timezone.localdate()
    days = [today + dt.timedelta(days=k) for k in range(1, 31)]
    workdays = [d for d in days if d.weekday() < 5]
    starts = []
    moment = dt.datetime.combine(today, START)
    while (moment + SLOT).time() <= END:
        starts.append(moment.time())
        moment += SLOT
    every = [(m.pk, d, s) for m in staff for d in workdays for s in starts]
    booked = rnd.sample(every, round(len(every) * BOOKED))
    requests = AppointmentRequest.objects.bulk_create(
        (
            AppointmentRequest(
                date=d,
                start_time=s,
                end_time=(dt.datetime.combine(d, s) + SLOT).time(),
                service=service,
                staff_member_id=m,
                payment_type="full",
                id_request=uuid.uuid4().hex,
            )
            for m, d, s in booked
        ),
        batch_size=1000,
    )
    if requests and requests[0].pk is None:
        requests = list(AppointmentRequest.objects.order_by("pk"))
    Appointment.objects.bulk_create(
        (
            Appointment(
                client=rnd.choice(patients),
                appointment_request=r,
                phone="+12025550123",
                address="1 Main St",
                want_reminder=False,
                additional_info="",
                amount_to_pay=0,
                id_request=uuid.uuid4().hex,
            )
            for r in requests
        ),
        batch_size=1000,
    )
taken = set(booked)
free = [(m, d.isoformat(), s.strftime("%H:%M")) for m, d, s in every if (m, d, s) not in taken]
rnd.shuffle(free)
meta = {
    "db": connection.vendor,
    "service_id": service.pk,
    "staff_ids": [m.pk for m in staff],
    "days": [d.isoformat() for d in days],
    "workdays": [d.isoformat() for d in workdays],
    "total_slots": len(every),
    "booked": len(booked),
    "patients": [u.username for u in patients],
    "patient_password": PASSWORD,
    "free_slots": free,
}
with open(sys.argv[1], "w") as out:
    json.dump(meta, out)
print(
    f"peer seeded on {connection.vendor}: {len(staff)} doctors, {len(every)} slots, {len(booked)} booked, "
    f"{len(patients)} patients in {time.perf_counter() - started:.1f} s",
    file=sys.stderr,
)
