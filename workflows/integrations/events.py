"""Which audit entries are webhook events, and what each event's payload says.

Payloads carry identifiers, times, states and amounts, never clinical text or a patient's contact
details: a receiving system that needs more asks the API with its own token (README, "Outbound
webhooks", has an example of each).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction

from core.prepared import PreparedQuery
from workflows.integrations.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

#: audit action code → webhook event
AUDIT_EVENTS: dict[str, str] = {
    "booking.appointment.booked": WebhookEvent.APPOINTMENT_BOOKED,
    "booking.follow_up.accepted": WebhookEvent.APPOINTMENT_BOOKED,
    "booking.appointment.confirmed": WebhookEvent.APPOINTMENT_CONFIRMED,
    "booking.appointment.cancelled": WebhookEvent.APPOINTMENT_CANCELLED,
    "booking.appointment.declined": WebhookEvent.APPOINTMENT_CANCELLED,
    "booking.appointment.rescheduled": WebhookEvent.APPOINTMENT_RESCHEDULED,
    "booking.appointment.completed": WebhookEvent.APPOINTMENT_COMPLETED,
    "booking.payment.succeeded": WebhookEvent.PAYMENT_SUCCEEDED,
    "booking.payment.refunded": WebhookEvent.PAYMENT_REFUNDED,
    "clinical.visit_note.signed": WebhookEvent.NOTE_SIGNED,
    "accounts.patient.signed_up": WebhookEvent.PATIENT_CREATED,
    "accounts.patient.registered": WebhookEvent.PATIENT_CREATED,
}


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def appointment_data(appointment) -> dict:
    return {
        "id": appointment.pk,
        "public_id": str(appointment.public_id),
        "status": appointment.status,
        "starts_at": _iso(appointment.starts_at),
        "ends_at": _iso(appointment.ends_at),
        "mode": appointment.mode,
        "doctor_id": appointment.doctor_id,
        "patient_id": appointment.patient_id,
        "price": str(appointment.price - appointment.discount),
        "currency": appointment.currency,
    }


def _appointment(obj, entry) -> dict:
    data = {"appointment": appointment_data(obj)}
    if entry.action == "booking.appointment.cancelled":
        data["cancellation"] = {"by": entry.data.get("by", ""), "late": bool(entry.data.get("late"))}
    elif entry.action == "booking.appointment.declined":
        data["cancellation"] = {"by": "doctor", "late": False}
    elif entry.action == "booking.appointment.rescheduled":
        data["previous_starts_at"] = entry.data.get("from")
    return data


def _payment(obj, entry) -> dict:
    data = {
        "payment": {
            "id": obj.pk,
            "appointment_id": obj.appointment_id,
            "gateway": obj.gateway,
            "amount": str(obj.amount),
            "refunded_amount": str(obj.refunded_amount),
            "currency": obj.currency,
            "status": obj.status,
            "paid_at": _iso(obj.paid_at),
        }
    }
    if entry.action == "booking.payment.refunded":
        data["refund"] = {"id": entry.data.get("refund"), "amount": entry.data.get("amount")}
    return data


def _note(obj, entry) -> dict:
    appointment = obj.appointment
    return {
        "note": {
            "id": obj.pk,
            "appointment_id": obj.appointment_id,
            "doctor_id": appointment.doctor_id,
            "patient_id": appointment.patient_id,
            "version": obj.version,
            "signed_at": _iso(obj.signed_at),
        }
    }


def _patient(obj, entry) -> dict:
    return {
        "patient": {
            "id": obj.pk,
            "language": obj.language,
            "created_at": _iso(obj.date_joined),
            "registered_by": "front_desk" if entry.action == "accounts.patient.registered" else "self",
        }
    }


BUILDERS = {
    "appointment": _appointment,
    "payment": _payment,
    "note": _note,
    "patient": _patient,
}


def event_payload(*, event: str, event_id: uuid.UUID, created: datetime, data: dict) -> dict:
    return {"id": f"evt_{event_id.hex}", "type": event, "created": _iso(created), "data": data}


def _active_endpoints_queryset():
    return WebhookEndpoint.objects.filter(is_active=True).order_by("name", "pk").values_list("pk", "events")


#: the active endpoints' ids and events (not their secrets): compiled once per process, read on every
#: audit entry that is an event
_ACTIVE_ENDPOINTS = PreparedQuery(_active_endpoints_queryset)


#: the name of the active endpoints' read in ``core.audit.register_statement_read``
ENDPOINTS_READ = "integrations.active_endpoints"


def active_endpoints_sql(connection) -> str | None:
    """The active endpoints' ``[[id, events], ...]`` in ``_ACTIVE_ENDPOINTS``' order as one JSON text
    (a scalar subquery), for a hot path to read with the statement that writes the audit entry
    (PostgreSQL; elsewhere None and the receiver reads them itself)."""
    if connection.vendor != "postgresql":
        return None
    meta, quote = WebhookEndpoint._meta, connection.ops.quote_name
    pk, name, events, active = (quote(meta.get_field(f).column) for f in ("id", "name", "events", "is_active"))
    return (
        f"SELECT COALESCE(json_agg(json_build_array({pk}, {events}) ORDER BY {name} ASC, {pk} ASC), '[]')::text "  # noqa: S608
        f"FROM {quote(meta.db_table)} WHERE {active}"
    )


def decode_active_endpoints(value: str) -> list[tuple[int, list]]:
    return [(pk, events) for pk, events in json.loads(value)]


def endpoints_for(event: str, rows=None) -> list[int]:
    """The ids of the active endpoints that subscribed to ``event`` (of ``rows``, the active
    endpoints' ids and events when they were read already)."""
    # a JSON "contains" lookup is not portable to SQLite: filter the (few) active endpoints here
    return [pk for pk, events in (_ACTIVE_ENDPOINTS.rows() if rows is None else rows) if event in events]


def on_audit_recorded(sender, *, entry, obj, reads=None, **kwargs) -> None:
    """``core.audit.audit_recorded`` receiver: queue the event for every endpoint that wants it, in
    the transaction of the change; the deliveries go out after commit. The active endpoints come with
    ``reads`` when the statement that wrote the entry read them (``ENDPOINTS_READ``)."""
    event = AUDIT_EVENTS.get(entry.action)
    if event is None or obj is None:
        return
    endpoints = endpoints_for(event, (reads or {}).get(ENDPOINTS_READ))
    if not endpoints:
        return
    event_id = uuid.uuid4()
    data = BUILDERS[event.split(".")[0]](obj, entry)
    payload = event_payload(event=event, event_id=event_id, created=entry.created_at, data=data)
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint_id=endpoint_id, event=event, event_id=event_id, payload=payload)
        for endpoint_id in endpoints
    )
    enqueue_after_commit([delivery.pk for delivery in deliveries])


def enqueue_after_commit(delivery_ids: list[int]) -> None:
    def enqueue() -> None:
        from django_q.tasks import async_task

        for delivery_id in delivery_ids:
            async_task(settings.WEBHOOK_DELIVERY_TASK, delivery_id, task_name=f"webhook-{delivery_id}")

    # robust: a lost enqueue is picked up by the sweep; it never undoes or fails the change
    transaction.on_commit(enqueue, robust=True)
