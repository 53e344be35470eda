"""The waitlist that refills freed slots: a freed slot is offered to the first waiting patient it suits,
held for them, and passes to the next patient on decline or timeout; accepting books it for payment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from booking import services as booking_services
from booking.models import Appointment, AppointmentStatus, Slot, SlotStatus
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.models import OutboxMessage
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import make_user, publish_slots
from workflows.messages import render_message
from workflows.operations.models import OfferStatus, SlotOffer, WaitlistEntry, WaitlistStatus
from workflows.operations.selectors import refill_counts
from workflows.operations.services import (
    OFFER_HOLD,
    waitlist_join,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_decline,
    waitlist_refill,
)
from workflows.schedules import PERIODIC_TASKS


@pytest.fixture
def doctor_binh(db):
    return make_doctor("binh.doctor@clinic.test")


@pytest.fixture
def start():
    """A morning hour four days from now in the doctor's zone (Asia/Ho_Chi_Minh, UTC+7): 09:00 local."""
    day = (timezone.now() + timedelta(days=4)).date()
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


@pytest.fixture
def booked_slot(doctor_binh, start, staff_binh):
    """The doctor's only slot, booked and paid by Lan: nothing is free until she cancels."""
    [slot] = publish_slots(doctor_binh, start=start, count=1)
    lan = make_user("lan.patient@example.test", "patient", first_name="Lan")
    visit = booking_services.appointment_book(slot=slot, patient=lan, actor=lan, details=details_for(lan))
    booking_services.payment_mark_cash_paid(appointment=visit, actor=staff_binh)
    return slot, Appointment.objects.get(pk=visit.pk)


def join(patient, doctor, start, part="any"):
    day = start.astimezone(doctor.zone).date()
    return waitlist_join(
        patient=patient, doctor=doctor, date_from=day - timedelta(days=1), date_to=day, part_of_day=part
    )


def patient(name):
    return make_user(f"{name}@example.test", "patient", first_name=name.title())


def test_a_cancellation_offers_the_slot_to_the_first_waiting_patient(booked_slot, doctor_binh, start, patient_dao):
    slot, visit = booked_slot
    first = join(patient_dao, doctor_binh, start)
    join(patient("mai"), doctor_binh, start)
    assert waitlist_refill() == {"expired": 0, "offered": 0}  # nothing is free yet

    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    assert waitlist_refill()["offered"] == 1
    [offer] = SlotOffer.objects.all()
    assert offer.entry == first and offer.status == OfferStatus.OPEN
    held = Slot.objects.get(pk=slot.pk)
    assert held.status == SlotStatus.HELD and held.hold_expires_at == offer.expires_at
    assert offer.expires_at - offer.offered_at == OFFER_HOLD
    # held for them: nobody else can book it meanwhile
    other = patient("tuan")
    with pytest.raises(booking_services.SlotTaken):
        booking_services.appointment_book(slot=slot, patient=other, actor=other, details=details_for(other))
    message = OutboxMessage.objects.get(kind="waitlist.offered")
    assert message.recipient == patient_dao
    rendered = render_message(message)
    assert rendered.sms and str(doctor_binh) in rendered.subject and rendered.link == "/portal/waitlist/"
    assert "medbook.waitlist_refill" in {task.name for task in PERIODIC_TASKS}


def test_accepting_books_the_slot_into_the_normal_payment_flow(booked_slot, doctor_binh, start, patient_dao):
    slot, visit = booked_slot
    entry = join(patient_dao, doctor_binh, start)
    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    waitlist_refill()
    offer = SlotOffer.objects.get()
    appointment = waitlist_offer_accept(offer=offer, patient=patient_dao, details=details_for(patient_dao))
    assert appointment.status == AppointmentStatus.PENDING_PAYMENT and appointment.slot_id == slot.pk
    assert SlotOffer.objects.get().status == OfferStatus.ACCEPTED and SlotOffer.objects.get().appointment == appointment
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.BOOKED
    assert refill_counts(since=timezone.now() - timedelta(hours=1)) == {"offered": 1, "refilled": 1}
    with pytest.raises(Conflict):
        waitlist_offer_accept(offer=offer, patient=patient_dao, details=details_for(patient_dao))


def test_a_decline_passes_the_slot_to_the_next_patient_at_once(booked_slot, doctor_binh, start, patient_dao):
    slot, visit = booked_slot
    first = join(patient_dao, doctor_binh, start)
    mai = patient("mai")
    second = join(mai, doctor_binh, start)
    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    waitlist_refill()
    waitlist_offer_decline(offer=SlotOffer.objects.get(entry=first), patient=patient_dao)
    offer = SlotOffer.objects.get(status=OfferStatus.OPEN)
    assert offer.entry == second and offer.slot_id == slot.pk
    # the first patient keeps waiting, but is not offered the slot they declined again
    assert WaitlistEntry.objects.get(pk=first.pk).status == WaitlistStatus.WAITING
    waitlist_offer_decline(offer=offer, patient=mai)
    assert not SlotOffer.objects.filter(status=OfferStatus.OPEN).exists()
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.FREE


def test_an_unanswered_offer_runs_out_and_goes_to_the_next_patient(booked_slot, doctor_binh, start, patient_dao):
    slot, visit = booked_slot
    join(patient_dao, doctor_binh, start)
    second = join(patient("mai"), doctor_binh, start)
    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    now = timezone.now()
    waitlist_refill(now=now)
    first_offer = SlotOffer.objects.get()
    later = now + OFFER_HOLD + timedelta(seconds=1)
    with pytest.raises(Conflict):
        waitlist_offer_accept(offer=first_offer, patient=patient_dao, details=details_for(patient_dao), now=later)
    assert waitlist_refill(now=later) == {"expired": 1, "offered": 1}
    assert SlotOffer.objects.get(pk=first_offer.pk).status == OfferStatus.EXPIRED
    assert SlotOffer.objects.get(status=OfferStatus.OPEN).entry == second


def test_new_availability_is_offered_too_and_only_in_the_chosen_part_of_the_day(doctor_binh, start, patient_dao):
    join(patient_dao, doctor_binh, start, part="afternoon")
    publish_slots(doctor_binh, start=start, count=2)  # 09:00 and 09:30 local: mornings
    assert waitlist_refill()["offered"] == 0
    afternoon = publish_slots(doctor_binh, start=start + timedelta(hours=5), count=1)[0]  # 14:00 local
    assert waitlist_refill()["offered"] == 1
    assert SlotOffer.objects.get().slot == afternoon


def test_no_offer_to_a_patient_who_already_sees_the_doctor_that_day(doctor_binh, start, patient_dao):
    mine, free = publish_slots(doctor_binh, start=start, count=2)
    booking_services.appointment_book(
        slot=mine, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    join(patient_dao, doctor_binh, start)
    mai_entry = join(patient("mai"), doctor_binh, start)
    waitlist_refill()
    assert SlotOffer.objects.get().entry == mai_entry and SlotOffer.objects.get().slot == free


def test_the_database_allows_one_open_offer_per_slot(booked_slot, doctor_binh, start, patient_dao):
    slot, visit = booked_slot
    join(patient_dao, doctor_binh, start)
    other = join(patient("mai"), doctor_binh, start)
    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    waitlist_refill()
    offer = SlotOffer.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        SlotOffer.objects.create(slot=slot, entry=other, offered_at=offer.offered_at, expires_at=offer.expires_at)


def test_leaving_the_waitlist_frees_an_open_offer_for_the_next(booked_slot, doctor_binh, start, patient_dao):
    slot, visit = booked_slot
    entry = join(patient_dao, doctor_binh, start)
    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    waitlist_refill()
    waitlist_leave(entry=entry, actor=patient_dao)
    assert SlotOffer.objects.get().status == OfferStatus.DECLINED
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.FREE


def test_joining_rules(doctor_binh, start, patient_dao, staff_binh):
    today = timezone.now().astimezone(doctor_binh.zone).date()
    with pytest.raises(InvalidInput):
        waitlist_join(patient=patient_dao, doctor=doctor_binh, date_from=today, date_to=today - timedelta(days=1))
    with pytest.raises(InvalidInput):
        waitlist_join(patient=patient_dao, doctor=doctor_binh, date_from=today, date_to=today + timedelta(days=400))
    with pytest.raises(PermissionDenied):
        waitlist_join(patient=staff_binh, doctor=doctor_binh, date_from=today, date_to=today)
    first = join(patient_dao, doctor_binh, start)
    again = join(patient_dao, doctor_binh, start, part="morning")
    assert first.pk == again.pk and again.part_of_day == "morning"  # one waiting entry per doctor


def test_someone_elses_offer_cannot_be_answered(booked_slot, doctor_binh, start, patient_dao):
    slot, visit = booked_slot
    join(patient_dao, doctor_binh, start)
    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    waitlist_refill()
    intruder = patient("tuan")
    with pytest.raises(PermissionDenied):
        waitlist_offer_accept(offer=SlotOffer.objects.get(), patient=intruder, details=details_for(intruder))


# --- the portal ---------------------------------------------------------------------------------


def test_the_patient_joins_sees_the_offer_and_accepts_it_in_the_portal(booked_slot, doctor_binh, start, patient_dao):
    slot, visit = booked_slot
    client = Client()
    client.force_login(patient_dao)
    assert f"/portal/waitlist/join/{doctor_binh.pk}/" in client.get(f"/portal/book/{doctor_binh.pk}/").content.decode()
    day = start.astimezone(doctor_binh.zone).date()
    response = client.post(
        f"/portal/waitlist/join/{doctor_binh.pk}/",
        {"date_from": day.isoformat(), "date_to": day.isoformat(), "part_of_day": "any"},
    )
    assert response.status_code == 302 and WaitlistEntry.objects.filter(patient=patient_dao).exists()
    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    waitlist_refill()
    offer = SlotOffer.objects.get()
    page = client.get("/portal/waitlist/")
    assert f"/portal/waitlist/offers/{offer.pk}/accept/" in page.content.decode()
    assert page["Cache-Control"] == "no-store, private"
    assert client.get(f"/portal/waitlist/offers/{offer.pk}/accept/").status_code == 405
    response = client.post(f"/portal/waitlist/offers/{offer.pk}/accept/", {"phone": "+84 90 000 0009"})
    appointment = Appointment.objects.get(slot=slot, status=AppointmentStatus.PENDING_PAYMENT)
    assert response["Location"] == f"/portal/appointments/{appointment.public_id}/"


def test_another_patients_offer_answers_404_in_the_portal(booked_slot, doctor_binh, start, patient_dao):
    slot, visit = booked_slot
    join(patient_dao, doctor_binh, start)
    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    waitlist_refill()
    client = Client()
    client.force_login(patient("tuan"))
    assert client.post(f"/portal/waitlist/offers/{SlotOffer.objects.get().pk}/accept/").status_code == 404


def test_the_waitlist_pages_are_translated(doctor_binh, patient_dao):
    client = Client()
    client.force_login(patient_dao)
    client.cookies["django_language"] = "vi"
    assert "Danh sách chờ của tôi" in client.get("/portal/waitlist/").content.decode()
    assert "Tham gia danh sách chờ" in client.get(f"/portal/waitlist/join/{doctor_binh.pk}/").content.decode()


# --- the admin ----------------------------------------------------------------------------------


def test_staff_see_the_waitlist_and_the_refill_numbers_on_the_dashboard(
    booked_slot, doctor_binh, start, patient_dao, staff_binh
):
    slot, visit = booked_slot
    join(patient_dao, doctor_binh, start)
    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    waitlist_refill()
    waitlist_offer_accept(offer=SlotOffer.objects.get(), patient=patient_dao, details=details_for(patient_dao))
    client = Client()
    client.force_login(staff_binh)
    assert str(patient_dao) in client.get("/admin/operations/waitlistentry/").content.decode()
    assert client.get("/admin/operations/slotoffer/").status_code == 200
    html = client.get("/admin/").content.decode()
    assert "1 freed slots were offered to waiting patients and 1 were booked from the waitlist" in html
    # doctors do not manage waitlists (the front desk does)
    client.force_login(doctor_binh.user)
    assert client.get("/admin/operations/waitlistentry/").status_code == 403


def test_the_portal_home_points_to_an_offer(booked_slot, doctor_binh, start, patient_dao):
    slot, visit = booked_slot
    join(patient_dao, doctor_binh, start)
    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    waitlist_refill()
    client = Client()
    client.force_login(patient_dao)
    html = client.get("/portal/").content.decode()
    assert "A time is offered to you" in html and "/portal/waitlist/" in html


@pytest.fixture
def minh(patient_dao):
    import datetime as dt

    from accounts.family import dependant_add

    profile = patient_dao.patient_profile
    profile.phone = "+84 90 000 0001"
    profile.save(update_fields=["phone"])
    return dependant_add(
        holder=patient_dao,
        actor=patient_dao,
        first_name="Minh",
        last_name="Nguyễn",
        date_of_birth=dt.date(2018, 3, 14),
        relationship="child",
    )


def test_the_holder_waits_for_a_child_gets_the_offer_and_books_it_for_the_child(
    booked_slot, doctor_binh, start, patient_dao, minh
):
    slot, visit = booked_slot
    day = start.astimezone(doctor_binh.zone).date()
    holder = Client()
    holder.force_login(patient_dao)
    page = holder.get(f"/portal/waitlist/join/{doctor_binh.pk}/").content.decode()
    assert "Who is this visit for?" in page and "Minh Nguyễn" in page
    response = holder.post(
        f"/portal/waitlist/join/{doctor_binh.pk}/",
        {"patient": str(minh.pk), "date_from": day, "date_to": day, "part_of_day": "any", "mode": "either"},
    )
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert entry.patient == minh

    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    assert waitlist_refill()["offered"] == 1
    offer = SlotOffer.objects.get(entry=entry)
    # the offer reaches the holder, never the child's placeholder account
    assert OutboxMessage.objects.get(kind="waitlist.offered").recipient == patient_dao
    assert not OutboxMessage.objects.filter(recipient=minh).exists()
    assert "For Minh Nguyễn" in holder.get("/portal/waitlist/").content.decode()

    # another patient cannot answer or leave it
    lan = Client()
    lan.force_login(visit.patient)
    assert lan.post(f"/portal/waitlist/offers/{offer.pk}/accept/").status_code == 404
    assert lan.post(f"/portal/waitlist/{entry.pk}/leave/").status_code == 404
    with pytest.raises(PermissionDenied):
        waitlist_offer_accept(offer=offer, patient=visit.patient, details=details_for(visit.patient))

    response = holder.post(f"/portal/waitlist/offers/{offer.pk}/accept/")
    assert response.status_code == 302
    booked = Appointment.objects.get(slot=slot, status=AppointmentStatus.PENDING_PAYMENT)
    assert booked.patient == minh and booked.booked_by == patient_dao and booked.email == patient_dao.email
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED


def test_a_child_with_a_visit_that_day_is_not_offered_another_but_the_holder_still_is_asked_for_others(
    booked_slot, doctor_binh, start, patient_dao, minh, staff_binh
):
    slot, visit = booked_slot
    [later] = publish_slots(doctor_binh, start=start + timedelta(hours=3), count=1)
    own = booking_services.appointment_book(slot=later, patient=minh, actor=patient_dao, details=details_for(minh))
    booking_services.payment_mark_cash_paid(appointment=own, actor=staff_binh)
    day = start.astimezone(doctor_binh.zone).date()
    for_minh = waitlist_join(patient=minh, doctor=doctor_binh, actor=patient_dao, date_from=day, date_to=day)
    for_dao = waitlist_join(patient=patient_dao, doctor=doctor_binh, date_from=day, date_to=day)
    assert for_minh.created_at <= for_dao.created_at

    booking_services.appointment_cancel(appointment=visit, actor=visit.patient, reason="Better")
    assert waitlist_refill()["offered"] == 1
    # Minh already sees this doctor that day: the slot goes to the next in line (his mother)
    assert SlotOffer.objects.get().entry == for_dao
    # and only the holder (or the clinic) joins for a child
    with pytest.raises(PermissionDenied):
        waitlist_join(patient=minh, doctor=doctor_binh, actor=visit.patient, date_from=day, date_to=day)
