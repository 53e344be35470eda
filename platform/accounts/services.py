"""Writes for accounts: every user, profile and email-verification change goes through here."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import MedicalRecord, PatientProfile, Role, User
from core.audit import audit_log
from core.errors import Conflict, DomainError, PermissionDenied


def user_mark_email_verified(*, user: User) -> None:
    """Record ``user.email`` as their verified primary address (accounts created by the clinic)."""
    EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).update(primary=False)
    address, created = EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    if not created and not (address.verified and address.primary):
        address.verified = True
        address.primary = True
        address.save(update_fields=["verified", "primary"])


def patient_profile_ensure(*, user: User) -> PatientProfile:
    """Give a patient their profile and (empty) medical record if they have none yet."""
    profile, _ = PatientProfile.objects.get_or_create(user=user)
    MedicalRecord.objects.get_or_create(patient=profile)
    return profile


@transaction.atomic
def user_create(
    *,
    email: str,
    role: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    actor: User | None = None,
    email_verified: bool = True,
) -> User:
    """Create a user of ``role``. Accounts made by the clinic get a verified email address."""
    user = User.objects.create_user(
        email=email, password=password, role=role, first_name=first_name, last_name=last_name
    )
    if email_verified:
        user_mark_email_verified(user=user)
    if role == Role.PATIENT:
        patient_profile_ensure(user=user)
    audit_log(actor=actor, action="accounts.user.created", obj=user, data={"role": role})
    return user


@transaction.atomic
def patient_signup_complete(*, user: User, first_name: str, last_name: str, phone: str = "") -> PatientProfile:
    """Called by the allauth adapter once a self-registered patient has been saved."""
    user.role = Role.PATIENT
    user.first_name = first_name
    user.last_name = last_name
    user.save(update_fields=["role", "first_name", "last_name"])
    profile = patient_profile_ensure(user=user)
    if phone and profile.phone != phone:
        profile.phone = phone
        profile.save(update_fields=["phone", "updated_at"])
    audit_log(actor=user, action="accounts.patient.signed_up", obj=user)
    return profile


def user_set_preferences(*, user: User, language: str | None = None, time_zone: str | None = None) -> None:
    fields = []
    if language is not None and language != user.language:
        user.language = language
        fields.append("language")
    if time_zone is not None and time_zone != user.time_zone:
        user.time_zone = time_zone
        fields.append("time_zone")
    if fields:
        user.save(update_fields=fields)


PROFILE_FIELDS = (
    "phone",
    "national_id",
    "date_of_birth",
    "gender",
    "address",
    "health_insurance_number",
    "emergency_contact_name",
    "emergency_contact_phone",
)


@transaction.atomic
def patient_profile_update(*, user: User, actor: User, **fields) -> PatientProfile:
    """Update a patient's name, contact and identity data (``first_name``, ``last_name``, ``phone``,
    ``national_id``, ``date_of_birth``, ``language``, ``time_zone``) and demographics (``gender``,
    ``address``, ``health_insurance_number``, ``emergency_contact_name``, ``emergency_contact_phone``)."""
    profile = patient_profile_ensure(user=user)
    user_fields = [name for name in ("first_name", "last_name", "language", "time_zone") if name in fields]
    for name in user_fields:
        setattr(user, name, fields[name])
    if user_fields:
        user.save(update_fields=user_fields)
    profile_fields = [name for name in PROFILE_FIELDS if name in fields]
    for name in profile_fields:
        setattr(profile, name, fields[name])
    if profile_fields:
        profile.save(update_fields=[*profile_fields, "updated_at"])
    audit_log(actor=actor, action="accounts.patient.profile_updated", obj=user, data={"fields": sorted(fields)})
    return profile


@transaction.atomic
def medical_record_update(*, user: User, actor: User, allergies: str, chronic_conditions: str, medications: str):
    profile = patient_profile_ensure(user=user)
    record = profile.medical_record
    record.allergies = allergies
    record.chronic_conditions = chronic_conditions
    record.medications = medications
    record.save(update_fields=["allergies", "chronic_conditions", "medications", "updated_at"])
    # ids only: clinical text never goes into the audit log
    audit_log(actor=actor, action="accounts.medical_record.updated", obj=profile)
    return record


def medical_record_viewed(*, profile: PatientProfile, actor: User, where: str) -> None:
    """Reading a medical record is itself an auditable event."""
    audit_log(actor=actor, action="accounts.medical_record.viewed", obj=profile, data={"where": where})


@transaction.atomic
def user_profile_update(*, user: User, actor: User, **fields) -> User:
    """Update a user's own name and preferences (``first_name``, ``last_name``, ``language``,
    ``time_zone``). A patient's contact and identity data go through ``patient_profile_update``."""
    changed = [name for name in ("first_name", "last_name", "language", "time_zone") if name in fields]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        user.save(update_fields=changed)
    audit_log(actor=actor, action="accounts.user.profile_updated", obj=user, data={"fields": sorted(changed)})
    return user


def user_sessions_end(*, user: User, keep_session_key: str | None = None, reason: str = "") -> int:
    """End every session of ``user`` that allauth tracks, except ``keep_session_key`` (the request
    that made the change). App tokens hang off a session (allauth's JWT strategy checks it on every
    access and refresh), so this also revokes their refresh and access tokens. Returns how many."""
    from allauth.usersessions.models import UserSession

    ended = 0
    for session in UserSession.objects.filter(user_id=user.pk):
        if keep_session_key and session.session_key == keep_session_key:
            continue
        session.end()
        ended += 1
    if reason:
        audit_log(actor=user, action="accounts.sessions.ended", obj=user, data={"reason": reason, "ended": ended})
    return ended


# --- patient accounts (clinic admins) --------------------------------------------------------------


def _require_clinic_admin(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active or not actor.is_superuser:
        raise PermissionDenied(_("Only clinic admins can do this."))


def _require_patient(user) -> None:
    if user.role != Role.PATIENT:
        raise DomainError(_("Only patient accounts are managed here."), code="not_a_patient")


def patient_deactivate(*, user: User, actor: User) -> None:
    """Lock a patient's account and end their sessions and app tokens (clinic admins only)."""
    _require_clinic_admin(actor)
    _require_patient(user)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.is_active:
            raise Conflict(_("This account is already deactivated."), code="not_allowed_now")
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        user.is_active = False
        ended = user_sessions_end(user=locked)
        audit_log(actor=actor, action="accounts.patient.deactivated", obj=locked, data={"sessions_ended": ended})


def patient_reactivate(*, user: User, actor: User) -> None:
    _require_clinic_admin(actor)
    _require_patient(user)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active:
            raise Conflict(_("This account is active."), code="not_allowed_now")
        locked.is_active = True
        locked.save(update_fields=["is_active"])
        user.is_active = True
        audit_log(actor=actor, action="accounts.patient.reactivated", obj=locked)
