"""The API contract against the running production profile (``tests/blackbox/stack.py``): gunicorn with
DEBUG off and 2 workers, the ``qcluster`` worker on the Redis broker, PostgreSQL, an SMTP server.

An app's view only: bearer tokens from allauth's headless login, httpx, the seed documents' paths and
bodies where they have one (README, "The seeds' contract"). Each test arranges its own data over
HTTP (a clinic admin's settings through the admin's forms, like a person would); the database is only
read, to check invariants (one payment per appointment, the worker's deliveries).

- a doctor publishes a schedule (seed 000's ``{date, startTime, endTime}``), a patient books it with
  ``{doctorId, scheduleId}``, pays through the sandbox gateway's signed webhook, the doctor confirms
  with ``{status: "confirmed"}``; completing it must wait for the visit to start (the rulebook);
- a follow-up suggested from a visit that took place, accepted with ``{finalDate, finalTime}`` at 5%
  off and paid (95% of the fee); another one rejected (``cancelledBy``, ``cancellationReason``);
- a paid visit cancelled by the doctor with ``{status: "cancelled", reason}``: refunded by the worker;
- statistics and the appointments export (XLSX opened with openpyxl, CSV) for the clinic's staff;
- the notifications the worker delivers: the in-app ones (the patient's notification centre) and
  their emails over SMTP, one per notification, under the outbox's Message-ID;
- schemathesis over the whole ``/api/v1/openapi.json`` with a patient's, a doctor's and a staff
  member's token (``tests.contract.fuzz``, the hooks the in-process suite uses).

The only visits that have already taken place are the demo data's (``seed_demo``): over HTTP a visit
can only be published for a later day and completed once it has started, so a follow-up is suggested
from patient1's completed visit with doctor2.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import time
from contextlib import contextmanager
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

import httpx
import pytest
import requests
import schemathesis

from tests.blackbox.helpers import admin_change, admin_checkbox, signed_sandbox_event
from tests.blackbox.stack import wait_until
from tests.contract.fuzz import Budget, Tokens, discover_ids, fuzz_schema

pytestmark = pytest.mark.contract

#: the patient and the doctor of the booking flow; doctor3 reviews requests (auto-confirm off)
PATIENT = "patient2@example.com"
DOCTOR = "doctor3@example.com"
#: the demo data's visit that took place: patient1 with doctor2 (completed three days ago)
FOLLOW_UP_PATIENT = "patient1@example.com"
FOLLOW_UP_DOCTOR = "doctor2@example.com"
STAFF = "staff@example.com"
ADMIN = "admin@example.com"
#: evening hours: the demo schedules end at 17:00, so these never overlap them
EVENING = [
    (f"{minute // 60:02d}:{minute % 60:02d}", f"{(minute + 30) // 60:02d}:{(minute + 30) % 60:02d}")
    for minute in range(18 * 60, 21 * 60, 30)
]


class Api(httpx.Client):
    """An app's client: a bearer token; a 429 (every harness client is 127.0.0.1, and the stack allows
    300 API requests a minute per IP) resets the stack's rate-limit counters and sends again."""

    def __init__(self, stack, email: str) -> None:
        self.stack = stack
        self.email = email
        tokens = stack.login(email)
        self.user_id = tokens.user_id
        super().__init__(base_url=stack.url, timeout=30, headers={"Authorization": f"Bearer {tokens.access}"})

    def request(self, *args, **kwargs) -> httpx.Response:
        response = super().request(*args, **kwargs)
        if response.status_code == 429:
            self.stack.reset_rate_limits()
            response = super().request(*args, **kwargs)
        return response


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text[:800]}"
    return response.json()


def items(response: httpx.Response) -> list[dict]:
    body = ok(response)
    assert set(body) >= {"items", "count", "limit", "offset"}
    return body["items"]


@pytest.fixture
def api(stack):
    opened: list[Api] = []

    def login(email: str) -> Api:
        client = Api(stack, email)
        opened.append(client)
        return client

    yield login
    for client in opened:
        client.close()


@contextmanager
def _auto_confirm(stack, value: bool):
    """doctor3's auto-confirm set by the clinic admin in the admin, restored after."""
    path = f"/admin/booking/doctor/{_doctor_id(stack, DOCTOR)}/change/"
    with stack.session(ADMIN) as admin:
        before = admin_checkbox(admin, path, "doctor_form", "auto_confirm")
        saved = admin_change(admin, path, "doctor_form", auto_confirm=value)
        assert saved.status_code == 302, saved.text[:2000]
    yield
    with stack.session(ADMIN) as admin:
        assert admin_change(admin, path, "doctor_form", auto_confirm=before).status_code == 302


@pytest.fixture
def reviewing_doctor(stack):
    """doctor3 reviews paid requests (auto-confirm off), as in the demo data."""
    with _auto_confirm(stack, False):
        yield


@pytest.fixture
def confirming_doctor(stack):
    """doctor3 confirms paid visits automatically (the demo's doctor3 reviews them by hand)."""
    with _auto_confirm(stack, True):
        yield


def _doctor_id(stack, email: str) -> int:
    """The doctor's id as the API names it (``doctorId``), found over HTTP: the doctor's own schedules."""
    with Api(stack, email) as doctor:
        schedules = items(doctor.get("/api/v1/doctor/schedules", params={"limit": 1}))
    assert schedules, f"{email} has no schedule"
    return schedules[0]["doctorId"]


def publish(doctor: Api, *, first_day: int = 2) -> dict:
    """Seed 000: the doctor publishes a free half hour with ``{date, startTime, endTime}`` alone (one slot),
    at the first evening time from ``first_day`` days ahead that no earlier test took."""
    zone = doctor.get("/api/v1/profile").json()["timeZone"]
    today = dt.datetime.now(ZoneInfo(zone)).date()
    for offset in range(first_day, first_day + 40):
        day = (today + dt.timedelta(days=offset)).isoformat()
        for start, end in EVENING:
            response = doctor.post("/api/v1/doctor/schedules", json={"date": day, "startTime": start, "endTime": end})
            if response.status_code == 409:  # an earlier test published this half hour
                continue
            schedule = ok(response, 201)
            assert (schedule["date"], schedule["startTime"], schedule["endTime"], schedule["isBooked"]) == (
                day,
                start,
                end,
                False,
            )
            assert len(schedule["slots"]) == 1
            return schedule
    raise AssertionError("no free evening in 40 days")


def book(patient: Api, slot: dict) -> dict:
    """Seed 000: ``POST /appointments {doctorId, scheduleId}``, the details from the patient's profile."""
    profile = ok(patient.get("/api/v1/profile"))
    if not profile["phone"]:
        ok(patient.put("/api/v1/profile", json={"phone": "+84 90 555 0102"}))
    appointment = ok(
        patient.post("/api/v1/appointments", json={"doctorId": slot["doctorId"], "scheduleId": slot["id"]}), 201
    )
    assert {"id", "patientId", "doctorId", "scheduleId", "status", "createdAt", "updatedAt"} <= set(appointment)
    assert (appointment["patientId"], appointment["doctorId"], appointment["scheduleId"]) == (
        patient.user_id,
        slot["doctorId"],
        slot["id"],
    )
    assert appointment["status"] == "pending_payment" and appointment["holdExpiresAt"]
    return appointment


def pay(stack, patient: Api, appointment: dict) -> dict:
    """Start a sandbox payment and let the gateway report it with its signed webhook; the payment, as the
    patient reads it afterwards."""
    started = ok(patient.post(f"/api/v1/appointments/{appointment['id']}/pay", json={"gateway": "sandbox"}), 201)
    assert started["amount"] == appointment["amountDue"] and started["status"] == "pending"
    payment = ok(patient.get(f"/api/v1/payments/{started['paymentId']}"))
    body, signature = signed_sandbox_event(
        stack.secret_key, payment=payment["id"], reference=payment["providerReference"], amount=payment["amount"]
    )
    with stack.client() as gateway:
        headers = {"Content-Type": "application/json", "X-Sandbox-Signature": signature}
        first = gateway.post("/api/v1/payments/webhooks/sandbox", content=body, headers=headers)
        again = gateway.post("/api/v1/payments/webhooks/sandbox", content=body, headers=headers)  # gateways retry
        forged = gateway.post(
            "/api/v1/payments/webhooks/sandbox", content=body, headers={**headers, "X-Sandbox-Signature": "0" * 64}
        )
    assert ok(first) == {"received": True, "outcome": "processed"}
    assert ok(again) == {"received": True, "outcome": "duplicate"}
    assert forged.status_code == 400 and forged.json()["error"]
    paid = ok(patient.get(f"/api/v1/payments/{payment['id']}"))
    assert paid["status"] == "succeeded" and paid["paidAt"] and paid["appointmentId"] == appointment["id"]
    return paid


class Delivered(NamedTuple):
    """An outbox message the worker delivered, and the in-app notification it left."""

    outbox: int
    kind: str
    email: str
    title: str
    notification: int


def outbox_delivered(stack, appointment: dict, *, kinds: set[str]) -> list[Delivered]:
    """Wait for the worker to deliver the appointment's messages of ``kinds`` (read back from the
    database: every one sent, with its in-app notification emailed)."""
    query = (
        "SELECT o.id, o.kind, u.email, o.status, n.title, n.email_sent_at IS NOT NULL, n.id"
        " FROM core_outboxmessage o JOIN booking_appointment a ON o.object_id = a.id::text"
        " JOIN accounts_user u ON u.id = o.recipient_id LEFT JOIN workflows_notification n ON n.outbox_id = o.id"
        " WHERE a.public_id::text = %s AND o.kind = ANY(%s) ORDER BY o.id"
    )
    rows: list[tuple] = []

    def delivered() -> bool:
        nonlocal rows
        rows = stack.sql(query, appointment["id"], sorted(kinds))
        return {kind for _, kind, *_ in rows} == kinds and all(status == "sent" for _, _, _, status, *_ in rows)

    wait_until(delivered, timeout=90, what=f"the worker to deliver {sorted(kinds)}", detail=lambda: rows)
    for outbox_id, kind, _email, _status, title, emailed, _note in rows:
        assert title, f"outbox {outbox_id} ({kind}) has no in-app notification"
        assert emailed, f"outbox {outbox_id} ({kind}) was not emailed"
    return [
        Delivered(outbox_id, kind, email, title, note)
        for outbox_id, kind, email, _status, title, _emailed, note in rows
    ]


def notifications_read_back(person: Api, delivered: list[Delivered]) -> None:
    """``person`` finds the delivered notifications addressed to them through the API, with their
    email copy, and marks them read."""
    theirs = [d for d in delivered if d.email == person.email]
    assert theirs, f"nothing was delivered to {person.email}"
    listing = ok(person.get("/api/v1/notifications", params={"limit": 100}))
    found = {n["id"]: n for n in listing["items"]}
    for d in theirs:
        assert d.notification in found, f"{d.kind} is not among {person.email}'s notifications"
        note = found[d.notification]
        assert (note["kind"], note["title"]) == (d.kind, d.title) and note["emailedAt"], note
    ids = [d.notification for d in theirs]
    marked = ok(person.post("/api/v1/notifications/read", json={"ids": ids}))
    assert marked["marked"] == sum(1 for pk in ids if found[pk]["readAt"] is None)
    unread = {n["id"] for n in items(person.get("/api/v1/notifications", params={"unread": "true", "limit": 100}))}
    assert not unread & set(ids)


def emails_for(stack, delivered: list[Delivered]) -> dict[int, list]:
    """The SMTP messages of each delivered outbox row (its Message-ID is ``<outbox.<id>.…>``)."""
    wanted = {outbox_id for outbox_id, *_ in delivered}

    def arrived(found) -> bool:
        return wanted <= {int(m.group(1)) for mail in found if (m := re.match(r"<outbox\.(\d+)\.", mail.message_id))}

    stack.smtp.wait_for(arrived, timeout=60)
    by_outbox: dict[int, list] = {}
    for mail in stack.smtp.messages():
        match = re.match(r"<outbox\.(\d+)\.", mail.message_id)
        if match and int(match.group(1)) in wanted:
            by_outbox.setdefault(int(match.group(1)), []).append(mail)
    return by_outbox


# --- booking, payment, the doctor's confirmation --------------------------------------------------


def test_a_patient_books_with_the_seed_body_pays_and_the_doctor_confirms(stack, api, reviewing_doctor):
    doctor, patient = api(DOCTOR), api(PATIENT)
    schedule = publish(doctor)
    (slot,) = schedule["slots"]

    # the patient finds the doctor and the free schedule in the public listing
    public = ok(patient.get(f"/api/v1/doctor/{slot['doctorId']}/schedules", params={"from": schedule["date"]}))
    assert any(s["id"] == slot["id"] and s["isBooked"] is False for s in public["slots"])
    listed = next(
        d for d in items(patient.get("/api/v1/doctors", params={"limit": 100})) if d["id"] == slot["doctorId"]
    )
    appointment = book(patient, slot)
    assert Decimal(appointment["price"]) == Decimal(listed["consultationFee"]) == Decimal(appointment["amountDue"])
    # "please pay" reaches the patient while the slot is held (the worker drops it once paid)
    (held,) = outbox_delivered(stack, appointment, kinds={"appointment.held"})
    assert held.email == PATIENT
    # the held slot is gone from the public listing
    public = ok(patient.get(f"/api/v1/doctor/{slot['doctorId']}/schedules", params={"from": schedule["date"]}))
    assert all(s["id"] != slot["id"] for s in public["slots"])

    paid = pay(stack, patient, appointment)
    assert paid["amount"] == appointment["amountDue"]
    assert ok(patient.get(f"/api/v1/appointments/{appointment['id']}"))["status"] == "pending"  # the doctor reviews

    # the doctor sees the request and confirms it with seed 000's body
    waiting = items(doctor.get("/api/v1/doctor/appointments", params={"status": "pending", "limit": 100}))
    assert appointment["id"] in {a["id"] for a in waiting}
    confirmed = ok(doctor.patch(f"/api/v1/doctor/appointments/{appointment['id']}", json={"status": "confirmed"}))
    assert confirmed["status"] == "confirmed"
    assert ok(patient.get(f"/api/v1/appointments/{appointment['id']}"))["status"] == "confirmed"
    mine = ok(doctor.get("/api/v1/doctor/schedules", params={"from": schedule["date"], "to": schedule["date"]}))
    (published,) = [s for s in mine["items"] if s["id"] == schedule["id"]]
    assert published["isBooked"] is True and published["slots"][0]["isBooked"] is True

    # "done" waits for the visit to start (the rulebook), and confirming twice is refused
    early = doctor.patch(f"/api/v1/doctor/appointments/{appointment['id']}", json={"status": "done"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_allowed_now"
    again = doctor.patch(f"/api/v1/doctor/appointments/{appointment['id']}", json={"status": "confirmed"})
    assert again.status_code == 409
    # ... and so does a follow-up from it (a visit that has taken place or is under way)
    too_soon = doctor.post(
        "/api/v1/appointments/suggest-follow-up",
        json={"patientId": patient.user_id, "suggestedDate": schedule["date"], "parentId": appointment["id"]},
    )
    assert too_soon.status_code == 409 and too_soon.json()["error"]["code"] == "not_allowed_now"

    # invariants: one succeeded payment of the fee, the slot booked by this appointment alone
    rows = stack.sql(
        "SELECT p.status, p.amount::text, s.status FROM booking_payment p JOIN booking_appointment a"
        " ON a.id = p.appointment_id JOIN booking_slot s ON s.id = a.slot_id WHERE a.public_id::text = %s",
        appointment["id"],
    )
    assert rows == [("succeeded", appointment["amountDue"], "booked")]

    # the worker's deliveries: held (patient), paid and waiting (patient), request (doctor), confirmed (both)
    delivered = outbox_delivered(
        stack,
        appointment,
        kinds={
            "appointment.held",
            "appointment.paid_pending",
            "appointment.request_received",
            "appointment.confirmed",
        },
    )
    recipients = {(kind, email) for _, kind, email, *_ in delivered}
    assert {("appointment.confirmed", PATIENT), ("appointment.request_received", DOCTOR)} <= recipients
    mails = emails_for(stack, delivered)
    for outbox_id, kind, email, *_ in delivered:
        assert [m.rcpt_tos for m in mails[outbox_id]] and all(m.rcpt_tos == [email] for m in mails[outbox_id])
        assert len({m.message_id for m in mails[outbox_id]}) == 1, f"{kind}: one Message-ID per message"
    assert all(mail.subject for found in mails.values() for mail in found)

    # the app reads what the worker delivered, and so does the patient's notification centre
    notifications_read_back(patient, delivered)
    notifications_read_back(doctor, delivered)
    with stack.session(PATIENT) as browser:
        page = browser.get("/portal/notifications/")
    assert page.status_code == 200
    shown = html.unescape(page.text)
    for _, kind, email, title, _ in delivered:
        if email == PATIENT:
            assert title in shown, f"{kind}: {title!r} not in the notification centre"


# --- follow-ups (seed 001) ------------------------------------------------------------------------


def _visit_that_took_place(doctor: Api, patient: Api) -> dict:
    completed = items(
        doctor.get("/api/v1/doctor/appointments", params={"status": "completed", "patient_id": patient.user_id})
    )
    assert completed, "the demo data has a completed visit of patient1 with doctor2"
    return completed[0]


def _suggest(doctor: Api, patient: Api, parent: dict, schedule: dict, notes: str) -> dict:
    """Seed 001's body, from ``parent``; an older suggestion from that visit still open (the demo data
    has one) is declined by the patient first, so that the answer is this one."""
    body = {
        "patientId": patient.user_id,
        "suggestedDate": schedule["date"],
        "suggestedTime": schedule["startTime"],
        "appointmentType": "follow_up",
        "notes": notes,
        "parentId": parent["id"],
    }
    for _ in range(2):
        suggestion = ok(doctor.post("/api/v1/appointments/suggest-follow-up", json=body), 201)
        if suggestion["followUpNotes"] == notes:
            break
        ok(patient.post(f"/api/v1/appointments/{suggestion['id']}/reject-follow-up", json={"reason": "older"}))
    assert suggestion["followUpNotes"] == notes, suggestion
    assert suggestion["status"] == "pending_patient_confirmation" and suggestion["isFollowUpSuggestion"] is True
    assert (suggestion["suggestedFollowUpDate"], suggestion["suggestedFollowUpTime"]) == (
        schedule["date"],
        schedule["startTime"],
    )
    assert suggestion["followUpDiscount"] == 5 and suggestion["patientId"] == patient.user_id
    # the patient sees it among their appointments
    listed = items(patient.get("/api/v1/appointments", params={"status": "pending_patient_confirmation"}))
    assert suggestion["id"] in {a["id"] for a in listed}
    return suggestion


def test_a_follow_up_is_suggested_accepted_at_five_percent_off_and_paid(stack, api):
    doctor, patient = api(FOLLOW_UP_DOCTOR), api(FOLLOW_UP_PATIENT)
    parent = _visit_that_took_place(doctor, patient)
    schedule = publish(doctor)
    suggestion = _suggest(doctor, patient, parent, schedule, notes=f"check-up {time.time_ns()}")

    # a time the doctor has not published is not found
    nowhere = patient.post(
        f"/api/v1/appointments/{suggestion['id']}/confirm-follow-up",
        json={"finalDate": schedule["date"], "finalTime": "23:30"},
    )
    assert nowhere.status_code == 404

    accepted = ok(
        patient.post(
            f"/api/v1/appointments/{suggestion['id']}/confirm-follow-up",
            json={"finalDate": schedule["date"], "finalTime": schedule["startTime"]},
        )
    )
    fee = Decimal(accepted["price"])
    assert accepted["status"] == "pending_payment" and accepted["scheduleId"] == schedule["slots"][0]["id"]
    assert (accepted["appointmentDate"], accepted["startTime"]) == (schedule["date"], schedule["startTime"])
    assert Decimal(accepted["discount"]) == fee * Decimal("0.05")
    assert Decimal(accepted["amountDue"]) == fee * Decimal("0.95")

    paid = pay(stack, patient, accepted)
    assert Decimal(paid["amount"]) == fee * Decimal("0.95")  # 95% of the fee
    after = ok(patient.get(f"/api/v1/appointments/{accepted['id']}"))
    assert after["status"] == "confirmed"  # doctor2 confirms paid visits automatically

    ((amount, status),) = stack.sql(
        "SELECT p.amount::text, p.status FROM booking_payment p JOIN booking_appointment a ON a.id = p.appointment_id"
        " WHERE a.public_id::text = %s",
        accepted["id"],
    )
    assert (Decimal(amount), status) == (fee * Decimal("0.95"), "succeeded")

    delivered = outbox_delivered(
        stack, accepted, kinds={"follow_up.suggested", "follow_up.accepted", "appointment.confirmed"}
    )
    recipients = {(kind, email) for _, kind, email, *_ in delivered}
    assert {("follow_up.suggested", FOLLOW_UP_PATIENT), ("follow_up.accepted", FOLLOW_UP_DOCTOR)} <= recipients
    mails = emails_for(stack, delivered)
    assert all(mails[outbox_id][0].rcpt_tos == [email] for outbox_id, _, email, *_ in delivered)
    notifications_read_back(patient, delivered)
    notifications_read_back(doctor, delivered)


def test_a_follow_up_rejected_by_the_patient_records_who_and_why(stack, api):
    doctor, patient = api(FOLLOW_UP_DOCTOR), api(FOLLOW_UP_PATIENT)
    parent = _visit_that_took_place(doctor, patient)
    schedule = publish(doctor)
    suggestion = _suggest(doctor, patient, parent, schedule, notes=f"maybe {time.time_ns()}")

    rejected = ok(
        patient.post(f"/api/v1/appointments/{suggestion['id']}/reject-follow-up", json={"reason": "Đã khỏe rồi"})
    )
    assert rejected["status"] == "cancelled" and rejected["cancelledBy"] == "patient"
    assert "Đã khỏe rồi" in rejected["cancellationReason"]
    # answered once: accepting afterwards is refused, and the schedule is still free
    late = patient.post(
        f"/api/v1/appointments/{suggestion['id']}/confirm-follow-up",
        json={"finalDate": schedule["date"], "finalTime": schedule["startTime"]},
    )
    assert late.status_code == 409
    public = ok(patient.get(f"/api/v1/doctor/{schedule['doctorId']}/schedules", params={"from": schedule["date"]}))
    assert any(s["id"] == schedule["slots"][0]["id"] for s in public["slots"])

    delivered = outbox_delivered(stack, rejected, kinds={"follow_up.suggested", "follow_up.rejected"})
    assert {(kind, email) for _, kind, email, *_ in delivered} == {
        ("follow_up.suggested", FOLLOW_UP_PATIENT),
        ("follow_up.rejected", FOLLOW_UP_DOCTOR),
    }
    emails_for(stack, delivered)


# --- cancellation ---------------------------------------------------------------------------------


def test_a_paid_visit_cancelled_by_the_doctor_is_refunded_by_the_worker(stack, api, confirming_doctor):
    doctor, patient = api(DOCTOR), api(PATIENT)
    (slot,) = publish(doctor)["slots"]
    appointment = book(patient, slot)
    paid = pay(stack, patient, appointment)
    assert ok(patient.get(f"/api/v1/appointments/{appointment['id']}"))["status"] == "confirmed"

    refused = doctor.patch(f"/api/v1/doctor/appointments/{appointment['id']}", json={"status": "cancelled"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "reason_required"
    cancelled = ok(
        doctor.patch(
            f"/api/v1/doctor/appointments/{appointment['id']}",
            json={"status": "cancelled", "reason": "Bác sĩ bận đột xuất"},
        )
    )
    assert cancelled["status"] == "cancelled" and cancelled["cancelledBy"] == "doctor"
    assert "Bác sĩ bận đột xuất" in (cancelled["cancellationReason"] or "")
    # the slot is free again for anyone
    public = ok(patient.get(f"/api/v1/doctor/{slot['doctorId']}/schedules", params={"from": slot["date"]}))
    assert any(s["id"] == slot["id"] and not s["isBooked"] for s in public["slots"])

    # the worker sends the refund to the gateway: the payment ends refunded in full
    def refunded() -> bool:
        return ok(patient.get(f"/api/v1/payments/{paid['id']}"))["status"] == "refunded"

    wait_until(refunded, timeout=90, what="the worker to refund the payment")
    payment = ok(patient.get(f"/api/v1/payments/{paid['id']}"))
    assert payment["refundedAmount"] == paid["amount"] and len(payment["refunds"]) == 1
    delivered = outbox_delivered(stack, appointment, kinds={"appointment.cancelled", "payment.refunded"})
    assert ("appointment.cancelled", PATIENT) in {(kind, email) for _, kind, email, *_ in delivered}
    emails_for(stack, delivered)


# --- statistics and exports -----------------------------------------------------------------------


def test_staff_read_the_days_statistics_and_export_its_appointments(stack, api):
    doctor, patient, staff, clinic_admin = api(DOCTOR), api(PATIENT), api(STAFF), api(ADMIN)
    (slot,) = publish(doctor, first_day=45)["slots"]
    appointment = book(patient, slot)
    paid = pay(stack, patient, appointment)
    day = slot["date"]
    period = {"start_date": day, "end_date": day}

    stats = ok(staff.get("/api/v1/stats/appointments", params={**period, "doctor_id": slot["doctorId"]}))
    counted = dict(
        stack.sql(
            "SELECT status, count(*) FROM booking_appointment WHERE doctor_id = %s"
            " AND (starts_at AT TIME ZONE %s)::date = %s::date GROUP BY status",
            slot["doctorId"],
            slot["timeZone"],
            day,
        )
    )
    assert stats["total"] == sum(counted.values()) >= 1
    assert {status: n for status, n in stats["by_status"].items() if n} == counted
    assert counted.get(ok(patient.get(f"/api/v1/appointments/{appointment['id']}"))["status"], 0) >= 1
    assert patient.get("/api/v1/stats/appointments", params=period).status_code == 403
    # the clinic admin's revenue includes this payment
    revenue = ok(clinic_admin.get("/api/v1/stats/payments", params={"start_date": paid["paidAt"][:10]}))
    assert any(row["gateway"] == "sandbox" and row["status"] == "succeeded" for row in revenue["payments"])

    exported = staff.get("/api/v1/exports/appointments", params={**period, "format": "xlsx"})
    assert exported.status_code == 200, exported.text[:500]
    assert exported.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert exported.headers["content-disposition"].startswith("attachment;")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(exported.content), read_only=True).worksheets[0]
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert {"id", "status", "doctor", "price", "amount_due"} <= set(header) and "reason" not in header
    by_id = {row[header.index("id")]: dict(zip(header, row, strict=True)) for row in rows}
    ours = by_id[paid["appointmentNumber"]]
    assert ours["status"] == ok(patient.get(f"/api/v1/appointments/{appointment['id']}"))["status"]
    assert Decimal(str(ours["price"])) == Decimal(appointment["price"])

    # seed 002's "excel" is the same workbook; CSV has the same rows
    assert staff.get("/api/v1/exports/appointments", params={**period, "format": "excel"}).status_code == 200
    as_csv = staff.get("/api/v1/exports/appointments", params={**period, "format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert table[0] == header and {row[0] for row in table[1:]} == {str(key) for key in by_id}
    # a patient exports nothing
    assert patient.get("/api/v1/exports/appointments", params=period).status_code == 403


# --- schemathesis over the whole OpenAPI ----------------------------------------------------------


def test_the_whole_api_keeps_its_contract_under_fuzzing_on_the_live_stack(stack):
    """``tests.contract.fuzz`` against gunicorn, as a patient, a doctor and a staff member: no 5xx, no
    status, content type or body outside the OpenAPI document.

    A second gunicorn of the same stack (database, Redis, worker) serves it, configured as the harness
    asks: video and Stripe's webhook configured, so that those operations run instead of answering
    their deliberate 503 "not configured". Its rate limits stay on (production's): a 429 resets the
    counters and the case is sent again. The budget is small (CI stays within its time)."""
    from tests.blackbox.stack import free_port

    port = free_port()
    web = stack.start_web(
        name="web-contract",
        port=port,
        workers=2,
        AGORA_APP_ID="0123456789abcdef0123456789abcdef",
        AGORA_APP_CERTIFICATE="fedcba9876543210fedcba9876543210",
        STRIPE_WEBHOOK_SECRET="whsec_contract",  # noqa: S106
    )
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()

    def resend_after_429(send):
        response = send()
        if response.status_code == 429:
            stack.reset_rate_limits()
            response = send()
        return response

    def post_json(path, body):
        response = resend_after_429(lambda: session.post(base + path, json=body, timeout=30))
        return response.status_code, response.json()

    def get_json(path, token):
        response = resend_after_429(
            lambda: session.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        )
        return response.status_code, response.json()

    def call(case, headers):
        return resend_after_429(lambda: case.call(base_url=base, session=session, headers=headers, timeout=30))

    try:
        tokens = Tokens(post_json)
        known = discover_ids(get_json, tokens)
        assert known["patient"]["public_id"] and known["doctor"]["availability_id"]
        schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
        started = time.monotonic()
        report = fuzz_schema(
            schema,
            roles=("patient", "doctor", "staff"),
            tokens=tokens,
            call=call,
            known=known,
            budget=Budget(positive=3, negative=2, known_ids=2),
        )
        spent = time.monotonic() - started
    finally:
        session.close()
        web.stop()
    print(f"\nlive schemathesis: {report.requests} requests, statuses {sorted(report.statuses.items())}, {spent:.0f} s")
    assert report.failures == [], "\n\n".join(report.failures)
    assert report.requests > 300 and report.statuses.get(200, 0) + report.statuses.get(201, 0) > 50
    assert not any(status >= 500 for status in report.statuses)
