"""/api/v1 appointment endpoints: each role, 404 for others' appointments, idempotent retries."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, AppointmentStatus, Payment
from tests.booking.appointments.helpers import completed_visit, details_for, make_doctor
from tests.factories import publish_slots

S = AppointmentStatus


def post(client, path, data, **headers):
    return client.post(path, data=json.dumps(data), content_type="application/json", headers=headers)


def patch(client, path, data):
    return client.patch(path, data=json.dumps(data), content_type="application/json")


def book_payload(slot, patient):
    return {
        "doctorId": slot.doctor_id,
        "scheduleId": slot.pk,
        "firstName": "Đào",
        "lastName": "Nguyễn",
        "phone": "+84 90 000 0001",
        "email": patient.email,
        "nationalId": "079123456789",
        "reason": "Cough",
    }


def test_patient_books_pays_in_sandbox_and_lists_it(client, slots, patient_dao):
    client.force_login(patient_dao)
    response = post(client, "/api/v1/appointments", book_payload(slots[0], patient_dao))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending_payment" and body["holdExpiresAt"]
    response = post(client, f"/api/v1/appointments/{body['id']}/pay", {"gateway": "sandbox"})
    assert response.status_code == 201
    assert response.json()["checkoutUrl"].startswith("/portal/pay/sandbox/")
    listing = client.get("/api/v1/appointments").json()["items"]
    assert [a["id"] for a in listing] == [body["id"]]


def test_slot_taken_is_a_409_with_alternatives(client, slots, patient_dao, patient_lan):
    svc.appointment_book(slot=slots[0], patient=patient_lan, actor=patient_lan, details=details_for(patient_lan))
    client.force_login(patient_dao)
    response = post(client, "/api/v1/appointments", book_payload(slots[0], patient_dao))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "slot_taken" and error["details"]["alternatives"]


def test_idempotency_key_makes_retries_safe(client, slots, patient_dao):
    client.force_login(patient_dao)
    payload = book_payload(slots[0], patient_dao)
    first = post(client, "/api/v1/appointments", payload, **{"Idempotency-Key": "k-123"})
    again = post(client, "/api/v1/appointments", payload, **{"Idempotency-Key": "k-123"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Appointment.objects.count() == 1
    other = post(client, "/api/v1/appointments", book_payload(slots[1], patient_dao), **{"Idempotency-Key": "k-123"})
    assert other.status_code == 400 and other.json()["error"]["code"] == "idempotency_key_reused"
    pay = f"/api/v1/appointments/{first.json()['id']}/pay"
    one = post(client, pay, {"gateway": "sandbox"}, **{"Idempotency-Key": "p-1"})
    two = post(client, pay, {"gateway": "sandbox"}, **{"Idempotency-Key": "p-1"})
    assert one.json()["paymentId"] == two.json()["paymentId"]
    assert Payment.objects.count() == 1


def test_another_patients_appointment_answers_404_everywhere(client, slots, patient_dao, patient_lan):
    appointment = svc.appointment_book(
        slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    client.force_login(patient_lan)
    base = f"/api/v1/appointments/{appointment.public_id}"
    assert client.get(base).status_code == 404
    assert post(client, f"{base}/cancel", {"reason": "x"}).status_code == 404
    assert post(client, f"{base}/pay", {"gateway": "sandbox"}).status_code == 404
    assert post(client, f"{base}/reschedule", {"scheduleId": slots[1].pk}).status_code == 404


def test_anonymous_gets_401(client, db):
    assert client.get("/api/v1/appointments").status_code == 401
    assert post(client, "/api/v1/appointments", {}).status_code == 401


def test_doctor_lists_and_acts_on_own_appointments_only(client, slots, patient_dao, doctor_binh):
    appointment = svc.appointment_book(
        slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    svc.payment_mark_cash_paid(appointment=appointment, actor=make_staff())
    other_doctor = make_doctor("khanh.doctor@clinic.test")
    client.force_login(other_doctor.user)
    assert client.get("/api/v1/doctor/appointments").json()["items"] == []
    assert (
        patch(
            client, f"/api/v1/doctor/appointments/{appointment.public_id}", {"action": "cancel", "reason": "x"}
        ).status_code
        == 404
    )
    client.force_login(doctor_binh.user)
    assert [a["id"] for a in client.get("/api/v1/doctor/appointments").json()["items"]] == [str(appointment.public_id)]
    response = patch(client, f"/api/v1/doctor/appointments/{appointment.public_id}", {"action": "no_show"})
    assert response.status_code == 409  # not started yet
    response = patch(
        client, f"/api/v1/doctor/appointments/{appointment.public_id}", {"action": "cancel", "reason": "Emergency"}
    )
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def make_staff():
    from tests.factories import make_user

    return make_user("front.desk@clinic.test", "staff")


@pytest.mark.parametrize(("role", "status"), [("patient", 403), ("doctor", 403), ("staff", 200), ("admin", 200)])
def test_all_appointments_and_stats_are_for_the_clinic(client, personas, role, status):
    client.force_login(personas[role])
    assert client.get("/api/v1/appointments/all").status_code == status
    assert client.get("/api/v1/stats/appointments").status_code == status


def test_admin_force_confirms_and_force_cancels(client, slots, patient_dao, admin_an):
    first = svc.appointment_book(
        slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    client.force_login(admin_an)
    response = patch(client, f"/api/v1/appointments/{first.public_id}", {"action": "confirm"})
    assert response.status_code == 200 and response.json()["status"] == "confirmed"
    response = patch(client, f"/api/v1/appointments/{first.public_id}", {"action": "cancel", "reason": "Duplicate"})
    assert response.json()["status"] == "cancelled" and response.json()["cancelledBy"] == "admin"
    stats = client.get("/api/v1/stats/appointments").json()
    assert stats["by_status"]["cancelled"] == 1 and stats["total"] == 1


def test_follow_up_flow_over_the_api(client, doctor_binh, slots, patient_dao):
    done = completed_visit(doctor_binh, patient_dao)
    client.force_login(doctor_binh.user)
    response = post(
        client,
        "/api/v1/appointments/suggest-follow-up",
        {
            "patientId": patient_dao.pk,
            "suggestedDate": (timezone.now() + timedelta(days=1)).date().isoformat(),
            "suggestedTime": "09:30",
            "notes": "Re-check",
            "parentId": str(done.public_id),
        },
    )
    assert response.status_code == 201, response.content
    suggestion = response.json()
    assert suggestion["status"] == "pending_patient_confirmation" and suggestion["followUpDiscountPercent"] == "5.00"
    client.force_login(patient_dao)
    response = post(client, f"/api/v1/appointments/{suggestion['id']}/confirm-follow-up", {"scheduleId": slots[2].pk})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending_payment"
    assert response.json()["amountDue"] == "475000.00"


def test_follow_up_reject_over_the_api(client, doctor_binh, patient_dao):
    completed_visit(doctor_binh, patient_dao)
    suggestion = svc.follow_up_suggest(
        doctor_user=doctor_binh.user, patient=patient_dao, suggested_date=(timezone.now() + timedelta(days=2)).date()
    )
    client.force_login(patient_dao)
    response = post(client, f"/api/v1/appointments/{suggestion.public_id}/reject-follow-up", {"reason": ""})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_doctor_cannot_suggest_follow_ups_to_strangers(client, doctor_binh, patient_lan):
    client.force_login(doctor_binh.user)
    response = post(
        client,
        "/api/v1/appointments/suggest-follow-up",
        {"patientId": patient_lan.pk, "suggestedDate": (timezone.now() + timedelta(days=1)).date().isoformat()},
    )
    assert response.status_code == 404


def test_reschedule_over_the_api(client, slots, patient_dao, doctor_binh):
    far = publish_slots(doctor_binh, start=timezone.now().replace(microsecond=0) + timedelta(days=6), count=2)
    appointment = svc.appointment_book(
        slot=far[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    client.force_login(patient_dao)
    response = post(client, f"/api/v1/appointments/{appointment.public_id}/reschedule", {"scheduleId": far[1].pk})
    assert response.status_code == 200 and response.json()["scheduleId"] == far[1].pk


def test_the_api_states_the_free_change_deadline_and_the_late_window(client, doctor_binh, slots, patient_dao):
    late = svc.appointment_book(slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    later = publish_slots(doctor_binh, start=start, count=1)[0]
    on_time = svc.appointment_book(slot=later, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    client.force_login(patient_dao)
    body = client.get(f"/api/v1/appointments/{on_time.public_id}").json()
    assert body["freeChangeUntil"] == (on_time.starts_at - timedelta(hours=24)).isoformat()
    assert body["lateWindow"] is False
    listing = {row["id"]: row for row in client.get("/api/v1/appointments").json()["items"]}
    assert listing[str(late.public_id)]["lateWindow"] is True
    assert listing[str(on_time.public_id)]["freeChangeUntil"] == body["freeChangeUntil"]
    svc.appointment_cancel(appointment=on_time, actor=patient_dao)
    closed = client.get(f"/api/v1/appointments/{on_time.public_id}").json()
    assert closed["freeChangeUntil"] is None and closed["lateWindow"] is False
