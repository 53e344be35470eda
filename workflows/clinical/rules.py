"""Who may do what with the clinical record: the one place the admin, the portal and the services ask.

- The **treating doctor** (the appointment's doctor) writes, signs and amends the visit's note.
- **Doctors the patient has visits with** (and admins) read the notes of that patient.
- **Staff** see that a note exists and its state, never its content, unless ``CLINICAL_STAFF_READ_NOTES``.
- The **patient** sees the signed summary of their own visits (assessment, plan, prescription); the
  account holder of a dependant (a child, an elderly parent) sees the dependant's, visit by visit, as
  the patient (``booking.rules.speaks_for``). A dependant's record is their own: a doctor of the
  dependant's visit reads the dependant's notes, never the holder's (the patient ids differ).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q

from booking.models import Appointment, AppointmentStatus
from booking.rules import speaks_for

S = AppointmentStatus

#: a note is written for a visit that takes place or took place
WRITABLE_STATUSES = (S.CONFIRMED, S.COMPLETED)
#: a doctor with a visit in one of these states with a patient may read that patient's notes
RELATIONSHIP_STATUSES = (S.PENDING, S.CONFIRMED, S.COMPLETED, S.NO_SHOW)


def _active(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def is_treating_doctor(*, user, appointment: Appointment) -> bool:
    return _active(user) and user.role == "doctor" and appointment.doctor.user_id == user.pk


def may_write(*, user, appointment: Appointment) -> bool:
    return is_treating_doctor(user=user, appointment=appointment) and appointment.status in WRITABLE_STATUSES


def may_read_patient(*, user, patient_id: int) -> bool:
    """May ``user`` read the clinical content of this patient's notes?"""
    if not _active(user):
        return False
    if user.role == "admin":
        return True
    if user.role == "staff":
        return settings.CLINICAL_STAFF_READ_NOTES
    if user.role == "doctor":
        return Appointment.objects.filter(
            patient_id=patient_id, doctor__user=user, status__in=RELATIONSHIP_STATUSES
        ).exists()
    if user.role == "patient":
        return False  # patients see their signed summary (patient_may_see_summary), not the working note
    return False


def may_read(*, user, appointment: Appointment) -> bool:
    if is_treating_doctor(user=user, appointment=appointment):
        return True
    return may_read_patient(user=user, patient_id=appointment.patient_id)


def patient_may_see_summary(*, user, note) -> bool:
    return _active(user) and note.is_signed and _patient_side(user, note.appointment)


def listable_notes_q(*, user) -> Q | None:
    """The notes whose existence ``user`` may see in the back office (a Q on VisitNote), or None: doctors
    those of their patients, staff and admins all (staff without content)."""
    if not _active(user):
        return None
    if user.role in {"admin", "staff"}:
        return Q()
    if user.role == "doctor":
        patients = Appointment.objects.filter(doctor__user=user, status__in=RELATIONSHIP_STATUSES).values("patient_id")
        return Q(appointment__doctor__user=user) | Q(appointment__patient_id__in=patients)
    return None


#: documents may be attached to a visit from booking (intake) until after it took place
DOCUMENT_STATUSES = (S.PENDING, S.CONFIRMED, S.COMPLETED)


def _patient_side(user, appointment: Appointment) -> bool:
    """``user`` is the visit's patient, or the account holder of its dependant patient."""
    return user.role == "patient" and (
        appointment.patient_id == user.pk or speaks_for(user=user, patient=appointment.patient)
    )


def may_upload_document(*, user, appointment: Appointment) -> bool:
    if appointment.status not in DOCUMENT_STATUSES or not _active(user):
        return False
    if user.role == "patient":
        return _patient_side(user, appointment)
    return is_treating_doctor(user=user, appointment=appointment)


def may_read_document(*, user, document) -> bool:
    appointment = document.appointment
    if _active(user) and user.role == "patient":
        return _patient_side(user, appointment) and (document.shared_with_patient or document.uploaded_by_id == user.pk)
    return may_read(user=user, appointment=appointment)


def may_fill_intake(*, user, appointment: Appointment) -> bool:
    """The patient tells the doctor about the visit until the doctor has started the note."""
    return (
        _active(user)
        and _patient_side(user, appointment)
        and appointment.status in (S.PENDING_PAYMENT, S.PENDING, S.CONFIRMED)
    )
