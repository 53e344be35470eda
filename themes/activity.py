"""The audit log in words for the admin's start page: "Dũng Phạm confirmed appointment #12", each
entry linked to the object's admin page when there is one. Reads ``core.AuditLog``; writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import AuditLog
from core.money import money_text

#: what an action code means, said of its actor (``%(who)s``) and object (``%(what)s``)
WORDS = {
    "booking.appointment.booked": _("%(who)s booked %(what)s"),
    "booking.appointment.confirmed": _("%(who)s confirmed %(what)s"),
    "booking.appointment.declined": _("%(who)s declined %(what)s"),
    "booking.appointment.cancelled": _("%(who)s cancelled %(what)s"),
    "booking.appointment.completed": _("%(who)s completed %(what)s"),
    "booking.appointment.no_show": _("%(who)s recorded a no-show for %(what)s"),
    "booking.appointment.expired": _("The payment hold of %(what)s lapsed"),
    "booking.appointment.rescheduled": _("%(who)s moved %(what)s to another time"),
    "booking.appointment.voucher_applied": _("%(who)s applied a voucher to %(what)s"),
    "booking.follow_up.suggested": _("%(who)s suggested a follow-up: %(what)s"),
    "booking.follow_up.accepted": _("%(who)s accepted the follow-up %(what)s"),
    "booking.follow_up.rejected": _("%(who)s declined the follow-up %(what)s"),
    "booking.payment.succeeded": _("Payment received: %(what)s"),
    "booking.payment.failed": _("A payment failed: %(what)s"),
    "booking.payment.refunded": _("Refunded: %(what)s"),
    "booking.payment.refund_queued": _("%(who)s queued a refund: %(what)s"),
    "booking.payment.refund_failed": _("A refund failed: %(what)s"),
    "booking.availability.created": _("%(who)s published availability: %(what)s"),
    "booking.availability.changed": _("%(who)s changed availability: %(what)s"),
    "booking.availability.deleted": _("%(who)s removed availability"),
    "booking.availability.weekly_generated": _("%(who)s generated a weekly schedule"),
    "booking.blocked_time.created": _("%(who)s blocked time: %(what)s"),
    "booking.doctor.created": _("%(who)s added %(what)s"),
    "accounts.user.created": _("%(who)s created the account %(what)s"),
    "accounts.patient.registered": _("%(who)s registered the patient %(what)s"),
    "accounts.patient.signed_up": _("%(what)s signed up"),
    "accounts.medical_record.viewed": _("%(who)s viewed a medical record: %(what)s"),
    "accounts.dependant.added": _("%(who)s added the family member %(what)s"),
    "accounts.dependant.updated": _("%(who)s changed the details of the family member %(what)s"),
    "accounts.dependant.converted": _("%(who)s gave the family member %(what)s a login of their own"),
    "clinical.visit_note.signed": _("%(who)s signed a visit note: %(what)s"),
    "clinic.doctor_application.submitted": _("A doctor applied: %(what)s"),
    "clinic.doctor_application.approved": _("%(who)s approved %(what)s"),
    "clinic.ticket.opened": _("%(who)s opened a support ticket: %(what)s"),
    "cms.doctor_profile_page.draft_created": _("A draft profile page was made for %(what)s"),
    # the clinic's places (issue 16)
    "booking.facility.created": _("%(who)s added the facility %(what)s"),
    "booking.facility.changed": _("%(who)s changed the facility %(what)s"),
    "booking.facility.deleted": _("%(who)s removed a facility"),
    "booking.room.created": _("%(who)s added the room %(what)s"),
    "booking.room.changed": _("%(who)s changed the room %(what)s"),
    "booking.room.deleted": _("%(who)s removed a room of %(what)s"),
    "booking.facility_photo.created": _("%(who)s added a photo: %(what)s"),
    "booking.facility_photo.changed": _("%(who)s changed a photo: %(what)s"),
    "booking.facility_photo.deleted": _("%(who)s removed a photo of %(what)s"),
    # clinic operations: the waiting room, the waitlist, ratings, calendar feeds
    "operations.check_in.arrived": _("%(who)s checked in %(what)s"),
    "operations.check_in.called": _("%(who)s called %(what)s"),
    "operations.check_in.in_consultation": _("%(who)s started the consultation of %(what)s"),
    "operations.check_in.done": _("%(who)s finished the consultation of %(what)s"),
    "operations.queue_board.created": _("%(who)s set up %(what)s"),
    "operations.queue_board.renewed": _("%(who)s gave %(what)s a new link"),
    "operations.waitlist.joined": _("%(who)s joined a waitlist: %(what)s"),
    "operations.waitlist.changed": _("%(who)s changed a waitlist entry: %(what)s"),
    "operations.waitlist.left": _("%(who)s left a waitlist: %(what)s"),
    "operations.slot_offer.offered": _("A freed time was offered: %(what)s"),
    "operations.slot_offer.accepted": _("%(who)s accepted %(what)s"),
    "operations.slot_offer.declined": _("%(who)s declined %(what)s"),
    "operations.slot_offer.expired": _("Not answered in time: %(what)s"),
    "operations.rating.invited": _("The patient was invited to rate a visit: %(what)s"),
    "operations.rating.submitted": _("%(who)s rated a visit: %(what)s"),
    "operations.rating.approved": _("%(who)s published the comment of %(what)s"),
    "operations.rating.rejected": _("%(who)s withheld the comment of %(what)s"),
    "operations.calendar_feed.created": _("%(who)s turned on %(what)s"),
    "operations.calendar_feed.changed": _("%(who)s changed %(what)s"),
    "operations.calendar_feed.revoked": _("%(who)s turned off %(what)s"),
}


@dataclass(frozen=True)
class ActivityEntry:
    at: datetime
    text: str
    url: str


def _who(user) -> str:
    if user is None:
        return gettext("The system")
    return user.get_full_name() or user.email


def _model_of(entry: AuditLog):
    try:
        return apps.get_model(entry.object_type) if entry.object_type else None
    except (LookupError, ValueError):
        return None


def _load_targets(entries: list[AuditLog]) -> dict:
    """The entries' objects, one query per kind of object (not one per entry): {(type, id): obj}."""
    wanted: dict = {}
    for entry in entries:
        model = _model_of(entry)
        if model is not None and entry.object_id and model._meta.label_lower != "booking.appointment":
            wanted.setdefault(model, set()).add(entry.object_id)
    found: dict = {}
    for model, ids in wanted.items():
        keys = {}
        for raw in ids:
            try:
                keys[model._meta.pk.to_python(raw)] = raw
            except ValidationError:
                continue  # an id the table cannot hold: the object is gone
        names = {field.name for field in model._meta.get_fields() if field.many_to_one}
        # what the objects' names read (a slot's or schedule's doctor, a room's clinic)
        related = [path for path in ("doctor__user", "user", "facility") if path.split("__")[0] in names]
        rows = model._default_manager.select_related(*related).in_bulk(list(keys))
        for pk, obj in rows.items():
            found[(model._meta.label_lower, keys[pk])] = obj
    return found


def _target(entry: AuditLog, cache: dict, objects: dict) -> tuple[str, str]:
    """The object's name and its admin page (or "" when it has none or is gone); ``objects`` from
    ``_load_targets``."""
    key = (entry.object_type, entry.object_id)
    if key in cache:
        return cache[key]
    name, url = "", ""
    model = _model_of(entry)
    if model is not None and entry.object_id:
        obj = objects.get((model._meta.label_lower, entry.object_id))
        if model._meta.label_lower == "booking.appointment":
            name = gettext("appointment #%(id)s") % {"id": entry.object_id}
        elif model._meta.label_lower == "booking.payment":
            name = (
                gettext("%(amount)s for appointment #%(id)s")
                % {"amount": money_text(obj.amount, obj.currency), "id": obj.appointment_id}
                if obj is not None
                else f"{model._meta.verbose_name} #{entry.object_id}"
            )
        else:
            name = str(obj) if obj is not None else f"{model._meta.verbose_name} #{entry.object_id}"
        if model in admin.site._registry:
            try:
                url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[entry.object_id])
            except NoReverseMatch:
                url = ""
        if not name:
            name = f"{model._meta.verbose_name} #{entry.object_id}"
    cache[key] = (name, url)
    return name, url


def recent_activity(*, limit: int = 12) -> list[ActivityEntry]:
    """The latest audit entries, newest first, in words. Availability rows a schedule generator writes
    by the dozen are left out unless nothing else happened."""
    entries = list(
        AuditLog.objects.exclude(action__in=["booking.video.token_issued", "clinical.fhir.read"])
        .select_related("actor")
        .order_by("-created_at", "-id")[: limit * 3]
    )
    cache: dict = {}
    objects = _load_targets(entries)
    result = []
    for entry in entries:
        what, url = _target(entry, cache, objects)
        words = WORDS.get(entry.action)
        if words is not None:
            text = str(words) % {"who": _who(entry.actor), "what": what}
        else:
            # an action without words yet: its code made readable ("clinic.ticket.resolved" → "ticket resolved")
            readable = " ".join(entry.action.split(".")[1:]).replace("_", " ")
            text = f"{_who(entry.actor)}: {readable}" + (f" · {what}" if what else "")
        result.append(ActivityEntry(at=entry.created_at, text=text, url=url))
        if len(result) == limit:
            break
    return result
