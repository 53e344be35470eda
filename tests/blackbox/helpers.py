"""Steps black-box tests share, all over HTTP."""

from __future__ import annotations

import json
import uuid
from html.parser import HTMLParser
from urllib.parse import urlencode

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


# --- the sandbox gateway's webhook ----------------------------------------------------------------


def signed_sandbox_event(secret_key: str, *, payment: int, reference: str, amount: str, outcome: str = "succeeded"):
    """A sandbox ``payment.<outcome>`` event and its ``X-Sandbox-Signature``, signed as the gateway signs
    it (its key derives from the server's SECRET_KEY: the stack's ``secret_key``)."""
    from django.test import override_settings

    from booking.payments.sandbox import sign

    body = json.dumps(
        {
            "id": f"sbx_evt_{uuid.uuid4().hex[:16]}",
            "type": f"payment.{outcome}",
            "payment": payment,
            "reference": reference,
            "amount": amount,
        },
        sort_keys=True,
    ).encode()
    with override_settings(SECRET_KEY=secret_key):
        return body, sign(body)


# --- Django admin forms ---------------------------------------------------------------------------


class _FormFields(HTMLParser):
    """What a browser would submit from the form with id ``form_id``: text inputs, checked boxes, the
    selected options, text areas (no files, no buttons)."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name", "")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in {"submit", "button", "file", "image", "reset"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self.fields.append((name, attrs.get("value", "on")))
                return
            self.fields.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields.append((self._select, attrs.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)


def admin_change(client: httpx.Client, path: str, form_id: str, **changes: str | bool) -> httpx.Response:
    """Change an object through its admin change form, as a person would: every field as the page shows
    it, ``changes`` applied (True/False ticks or clears a checkbox), saved with "Save"."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    parser = _FormFields(form_id)
    parser.feed(page.text)
    assert parser.fields, f"no form {form_id!r} on {path}"
    fields = [(name, value) for name, value in parser.fields if name not in changes and name != "csrfmiddlewaretoken"]
    for name, value in changes.items():
        if value is True:
            fields.append((name, "on"))
        elif value is not False:
            fields.append((name, str(value)))
    fields.append(("_save", "Save"))
    return client.post(path, content=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"})


def admin_checkbox(client: httpx.Client, path: str, form_id: str, name: str) -> bool:
    parser = _FormFields(form_id)
    parser.feed(client.get(path).text)
    return any(field == name for field, _value in parser.fields)
