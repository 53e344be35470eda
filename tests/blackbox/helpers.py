"""Steps black-box tests share, all over HTTP."""

from __future__ import annotations

import httpx

BOOKING_DETAILS = {"firstName": "Test", "lastName": "Patient", "phone": "+84 90 000 0000", "email": "x@example.com"}


def free_slots(client: httpx.Client, *, limit: int = 50) -> list[tuple[int, int]]:
    """(doctor id, slot id) pairs that are free now, from the public API."""
    doctors = client.get("/api/v1/doctors")
    assert doctors.status_code == 200, doctors.text
    pairs: list[tuple[int, int]] = []
    items = doctors.json()
    items = items.get("items", items) if isinstance(items, dict) else items
    for doctor in items:
        schedules = client.get(f"/api/v1/doctor/{doctor['id']}/schedules")
        assert schedules.status_code == 200, schedules.text
        for slot in schedules.json()["slots"]:
            if not slot.get("isBooked") and slot.get("status", "free") == "free":
                pairs.append((doctor["id"], slot["id"]))
                if len(pairs) >= limit:
                    return pairs
    return pairs


def book(client: httpx.Client, doctor_id: int, slot_id: int, **details) -> httpx.Response:
    return client.post(
        "/api/v1/appointments", json={"doctorId": doctor_id, "scheduleId": slot_id, **BOOKING_DETAILS, **details}
    )


def book_first_free_slot(client: httpx.Client) -> dict:
    for doctor_id, slot_id in free_slots(client):
        response = book(client, doctor_id, slot_id)
        if response.status_code == 201:
            return response.json()
        assert response.status_code == 409, response.text
    raise AssertionError("no free slot could be booked")
