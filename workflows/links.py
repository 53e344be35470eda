"""Where a message points its reader: the patient's portal page or the clinic workspace."""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _


def portal_path(appointment) -> str:
    try:
        return reverse("portal:appointment_detail", kwargs={"public_id": appointment.public_id})
    except NoReverseMatch:  # the portal is not installed (tests of a bare workflows setup)
        return f"/portal/appointments/{appointment.public_id}/"


def workspace_path(appointment) -> str:
    try:
        return reverse("admin:booking_appointment_change", args=[appointment.pk])
    except NoReverseMatch:  # the appointment admin is not registered
        return f"/admin/booking/appointment/{appointment.pk}/change/"


def video_path(appointment) -> str:
    """The video visit page (it admits only the visit's doctor and patient)."""
    try:
        return reverse("portal:video_visit", kwargs={"public_id": appointment.public_id})
    except NoReverseMatch:  # the portal is not installed
        return f"/portal/visits/{appointment.public_id}/video/"


def appointment_path(appointment, user) -> str:
    """The page ``user`` opens for ``appointment``: patients by public id in the portal, clinic people
    in the admin."""
    patient_side = (
        user.pk == appointment.patient_id or user.pk == appointment.patient.guardian_id
    )  # a dependant's holder
    return portal_path(appointment) if patient_side else workspace_path(appointment)


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def clinic_location() -> str:
    return getattr(settings, "CLINIC_ADDRESS", "") or _("Medbook clinic")


def visit_location(appointment) -> str:
    """Where an in-person visit happens, on one line: its facility (and room) with the address, or the
    clinic's address for a visit whose slot has no facility."""
    facility = appointment.facility
    if facility is None:
        return clinic_location()
    return facility.location_line(appointment.room)


def visit_map_url(appointment) -> str:
    """An OpenStreetMap link to an in-person visit's facility ("" without one or its coordinates)."""
    facility = appointment.facility
    return facility.map_url if facility is not None else ""
