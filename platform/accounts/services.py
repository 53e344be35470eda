"""Writes for accounts: every user, profile and email-verification change goes through here."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Gender, MedicalRecord, PatientProfile, Role, User
from accounts.phones import to_e164, to_e164_or_raw
from core.audit import audit_log
from core.db import retry_transaction
from core.errors import Conflict, DomainError, InvalidInput, PermissionDenied

BHYT_PATTERN = re.compile(r"[A-Z]{2}\d{13}")


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


# --- phone sign-in ------------------------------------------------------------------------------


def patient_phone_set(*, user: User, phone: str, verified: bool = False, actor: User | None = None) -> PatientProfile:
    """Give patient ``user`` the mobile number ``phone`` (stored as E.164), verified (the patient typed
    the code we texted to it: they may now sign in with it) or not. Only patients sign in by phone.
    A number verified by another account is refused (``Conflict``, code ``phone_taken``)."""
    if user.role != Role.PATIENT:
        raise PermissionDenied(_("Only patients can sign in with a phone number."), code="not_a_patient")
    try:
        number = to_e164(phone)
    except ValueError:
        raise InvalidInput(_("Enter a valid mobile number."), fields=["phone"]) from None
    try:
        with transaction.atomic():
            profile = patient_profile_ensure(user=user)
            profile = PatientProfile.objects.select_for_update().get(pk=profile.pk)
            if (profile.phone, profile.phone_verified) == (number, verified):
                return profile
            taken = PatientProfile.objects.filter(phone=number, phone_verified=True).exclude(pk=profile.pk)
            if verified and taken.exists():
                raise Conflict(_("Another account already signs in with this phone number."), code="phone_taken")
            profile.phone, profile.phone_verified = number, verified
            profile.save(update_fields=["phone", "phone_verified", "updated_at"])
            # ids only: the number itself stays out of the audit log
            action = "accounts.patient.phone_verified" if verified else "accounts.patient.phone_set"
            audit_log(actor=actor or user, action=action, obj=user)
    except IntegrityError:  # verified by another account between our check and the save
        raise Conflict(_("Another account already signs in with this phone number."), code="phone_taken") from None
    return profile


def patient_phone_get(*, user: User) -> tuple[str, bool] | None:
    """The patient's mobile number and whether it is verified; None for no number (or not a patient)."""
    if getattr(user, "role", None) != Role.PATIENT or not user.pk:
        return None
    row = PatientProfile.objects.filter(user=user).values_list("phone", "phone_verified").first()
    if not row or not row[0]:
        return None
    return row[0], row[1]


def patient_by_verified_phone(phone: str) -> User | None:
    """The active patient who signs in with ``phone`` (any spelling of the number), or None. Staff,
    doctors and admins never sign in by phone: they keep email, password and MFA."""
    try:
        number = to_e164(phone)
    except ValueError:
        return None
    return (
        User.objects.filter(
            role=Role.PATIENT, is_active=True, patient_profile__phone=number, patient_profile__phone_verified=True
        )
        .order_by("pk")
        .first()
    )


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
    if "phone" in fields and profile.phone_verified:
        # The verified number (E.164) signs the patient in. The same number written another way keeps
        # it as it is; another number is stored as typed, unverified: it no longer signs anyone in.
        if to_e164_or_raw(fields["phone"]) == profile.phone:
            fields["phone"] = profile.phone
        else:
            profile.phone_verified = False
            profile_fields.append("phone_verified")
    for name in profile_fields:
        if name != "phone_verified":
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
        from accounts.family import deactivation_refusal  # family builds on this module

        refusal = deactivation_refusal(locked)
        if refusal is not None:
            raise refusal
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


# --- front-desk registration (staff and clinic admins) --------------------------------------------

#: walk-in patients without an email address get an address on this reserved domain (RFC 2606: it never
#: resolves), so the account exists and can be booked for; nothing is ever emailed to it
NO_EMAIL_DOMAIN = "no-email.invalid"


def has_real_email(email: str) -> bool:
    return bool(email) and not email.lower().endswith("@" + NO_EMAIL_DOMAIN)


def phone_digits(phone: str) -> str:
    """A phone number reduced to what identifies it: digits only, the Vietnamese country code (+84)
    written as the national leading 0 (``+84 91 234 5678`` and ``0912 345 678`` are the same)."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits


@dataclass(frozen=True)
class PossibleDuplicate:
    """A patient already registered who shares an identifying detail with the new one."""

    profile: PatientProfile
    #: which details match: "phone", "national_id", "health_insurance_number", "email"
    reasons: tuple[str, ...]


def patient_duplicates(
    *, phone: str = "", national_id: str = "", health_insurance_number: str = "", email: str = ""
) -> list[PossibleDuplicate]:
    """Registered patients who may be the same person: same phone number (compared by its digits),
    national ID, BHYT number (both compared without case or spaces) or email."""
    matches: dict[int, set[str]] = {}
    profiles: dict[int, PatientProfile] = {}
    base = PatientProfile.objects.select_related("user").filter(user__role=Role.PATIENT)

    def add(queryset, reason, keep=lambda profile: True):
        for profile in queryset[:50]:
            if keep(profile):
                profiles[profile.pk] = profile
                matches.setdefault(profile.pk, set()).add(reason)

    digits = phone_digits(phone)
    if len(digits) >= 6:
        # stored numbers are free text ("0912 345 678"): narrow by the last digits in SQL, compare in Python
        add(base.filter(phone__contains=digits[-3:]), "phone", lambda p: phone_digits(p.phone) == digits)
    national_id = "".join(national_id.split()).upper()
    if national_id:
        add(base.filter(national_id__iexact=national_id), "national_id")
    bhyt = "".join(health_insurance_number.split()).upper()
    if bhyt:
        add(base.filter(health_insurance_number__iexact=bhyt), "health_insurance_number")
    if has_real_email(email.strip()):
        add(base.filter(user__email__iexact=email.strip()), "email")
    order = ("national_id", "health_insurance_number", "phone", "email")
    return [
        PossibleDuplicate(profile=profiles[pk], reasons=tuple(r for r in order if r in reasons))
        for pk, reasons in sorted(matches.items(), key=lambda item: (-len(item[1]), item[0]))
    ]


class DuplicatePatient(Conflict):
    """Someone already registered shares the phone, national ID, BHYT number or email of this patient;
    ``duplicates`` lists them. Register anyway (``allow_duplicate``) when staff checked it is not them."""

    code = "possible_duplicate"

    def __init__(self, message, *, duplicates: list[PossibleDuplicate]):
        super().__init__(message, details={"patients": [d.profile.pk for d in duplicates]})
        self.duplicates = duplicates


def _require_front_desk(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(_("Only the clinic's staff can register patients."))
    if not (actor.is_superuser or actor.role == Role.STAFF):
        raise PermissionDenied(_("Only the clinic's staff can register patients."))


@retry_transaction
def patient_register(
    *,
    actor: User,
    first_name: str,
    last_name: str,
    phone: str,
    email: str = "",
    date_of_birth: date | None = None,
    gender: str = "",
    address: str = "",
    national_id: str = "",
    health_insurance_number: str = "",
    emergency_contact_name: str = "",
    emergency_contact_phone: str = "",
    language: str = "",
    allow_duplicate: bool = False,
) -> User:
    """Register a walk-in patient at the front desk (staff or clinic admins): the account (no password:
    the patient sets one through "Forgot password" when they want the portal), the profile with the
    demographics, an empty medical record. An email is optional: without one the account gets an
    address on ``NO_EMAIL_DOMAIN`` that is never written to. ``DuplicatePatient`` when someone
    registered shares the phone, national ID, BHYT number or email, unless ``allow_duplicate``; an
    email that already has an account is always refused (one account per address)."""
    _require_front_desk(actor)
    errors: dict[str, str] = {}
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name:
        errors["first_name"] = _("Enter the patient's name.")
    if not last_name:
        # booking asks for it too: a visit is booked in the patient's full name
        errors["last_name"] = _("Enter the patient's family name.")
    phone = phone.strip()
    if len(phone_digits(phone)) < 8 or len(phone) > 32:
        errors["phone"] = _("Enter a phone number the clinic can call.")
    email = email.strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = _("Enter a valid email address.")
        else:
            if not has_real_email(email):
                errors["email"] = _("Enter a valid email address.")
    if date_of_birth is not None and date_of_birth > timezone.localdate():
        errors["date_of_birth"] = _("The date of birth is in the future.")
    if gender and gender not in Gender.values:
        errors["gender"] = _("Choose a gender from the list.")
    national_id = "".join(national_id.split()).upper()
    health_insurance_number = "".join(health_insurance_number.split()).upper()
    if health_insurance_number and not BHYT_PATTERN.fullmatch(health_insurance_number):
        errors["health_insurance_number"] = _("A BHYT number is 2 letters and 13 digits, e.g. DN4797915123456.")
    for name, value, limit in (
        ("first_name", first_name, 150),
        ("last_name", last_name, 150),
        ("national_id", national_id, 32),
        ("address", address, 1000),
        ("emergency_contact_name", emergency_contact_name, 150),
        ("emergency_contact_phone", emergency_contact_phone, 32),
    ):
        if len(value) > limit:
            errors[name] = _("This text is too long.")
    if errors:
        raise InvalidInput(_("Please check the patient's details."), fields=errors)
    with transaction.atomic():
        if email and User.objects.filter(email__iexact=email).exists():
            raise InvalidInput(
                _("An account with this email address exists already."),
                fields={"email": _("An account with this email address exists already.")},
            )
        duplicates = patient_duplicates(
            phone=phone, national_id=national_id, health_insurance_number=health_insurance_number, email=email
        )
        if duplicates and not allow_duplicate:
            raise DuplicatePatient(
                _("This patient may be registered already: check the patients below."), duplicates=duplicates
            )
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    email=email or f"patient-{uuid.uuid4().hex[:16]}@{NO_EMAIL_DOMAIN}",
                    password=None,
                    role=Role.PATIENT,
                    first_name=first_name,
                    last_name=last_name,
                    **({"language": language} if language else {}),
                )
        except IntegrityError:
            # another desk registered this address a moment ago
            raise InvalidInput(
                _("An account with this email address exists already."),
                fields={"email": _("An account with this email address exists already.")},
            ) from None
        if email:
            user_mark_email_verified(user=user)
        profile = patient_profile_ensure(user=user)
        profile.phone = phone
        profile.national_id = national_id
        profile.date_of_birth = date_of_birth
        profile.gender = gender
        profile.address = address.strip()
        profile.health_insurance_number = health_insurance_number
        profile.emergency_contact_name = emergency_contact_name.strip()
        profile.emergency_contact_phone = emergency_contact_phone.strip()
        profile.save()
        # ids and which checks were overridden, never the patient's details
        audit_log(
            actor=actor,
            action="accounts.patient.registered",
            obj=user,
            data={
                "where": "front_desk",
                "has_email": bool(email),
                "duplicates_overridden": [d.profile.pk for d in duplicates],
            },
        )
        return user
