"""Families: an account holder's dependants (children, elderly parents).

A dependant is a real patient account (``User`` of role patient, with its ``PatientProfile`` and
``MedicalRecord``) that has no login of its own: an unusable password and an address on
``NO_EMAIL_DOMAIN`` that is never written to. ``User.guardian`` points at the account holder, who
books for the dependant, manages their visits in the portal and receives their messages
(``User.notification_recipient``). Because the dependant is the appointment's patient, everything
that hangs off a patient (visits, notes, documents, the medical record) stays the dependant's own.

Giving a dependant a login of their own (``dependant_convert``) sets their email, clears the
guardian link and queues an invitation to set a password: the account, and so the whole history,
stays the same row. The audit log keeps who the holder was.
"""

from __future__ import annotations

import uuid
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Gender, Relationship, Role, User
from accounts.services import NO_EMAIL_DOMAIN, patient_profile_ensure, user_mark_email_verified
from core.audit import audit_log
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.outbox import outbox_add

#: the message a converted dependant gets: set a password for the account that keeps their history
INVITATION_KIND = "account.invitation"
#: who, besides the holder, may manage a family's members
ADMIN_SIDE = frozenset({Role.STAFF, Role.ADMIN})


def dependants_of(holder: User):
    """The holder's dependants, oldest first, with their profiles."""
    return (
        User.objects.filter(guardian=holder, role=Role.PATIENT)
        .select_related("patient_profile")
        .order_by("patient_profile__date_of_birth", "first_name", "pk")
    )


def dependant_of(holder: User, pk) -> User:
    """The holder's dependant ``pk``; anyone else's (or none) is NotFound, never a hint it exists."""
    dependant = dependants_of(holder).filter(pk=pk).first() if str(pk).isdigit() else None
    if dependant is None:
        raise NotFound(_("Family member not found."))
    return dependant


def deactivation_refusal(user: User) -> Conflict | None:
    """Why ``user`` may not be deactivated now, or None. An account holder with active dependants is
    refused, naming them: their family members cannot sign in, so a locked holder would leave them
    with nobody to book for them or to receive their messages. Give each member a login of their own
    (``dependant_convert``) or deactivate them first. Runs one query."""
    names = [str(member) for member in dependants_of(user).filter(is_active=True)]
    if not names:
        return None
    return Conflict(
        _(
            "This account holds family members who have no login of their own: %(names)s. Give each of them "
            "a login of their own or deactivate them first."
        )
        % {"names": ", ".join(names)},
        code="has_dependants",
    )


def may_manage(*, actor, dependant: User) -> bool:
    """The holder manages their dependants; the clinic's staff and admins may too."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    if actor.role in {Role.STAFF, Role.ADMIN}:
        return True
    return actor.role == Role.PATIENT and dependant.guardian_id == actor.pk


def _clean(
    *, first_name: str, last_name: str, date_of_birth: date | None, gender: str, relationship: str, national_id: str
) -> dict:
    errors: dict[str, str] = {}
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    if not first_name:
        errors["first_name"] = _("This field is required.")
    if not last_name:
        errors["last_name"] = _("This field is required.")
    if date_of_birth is None:
        errors["date_of_birth"] = _("This field is required.")
    elif date_of_birth > timezone.localdate():
        errors["date_of_birth"] = _("The date of birth is in the future.")
    if gender and gender not in Gender.values:
        errors["gender"] = _("Choose a gender from the list.")
    if relationship not in Relationship.values:
        errors["relationship"] = _("Choose how this person is related to you.")
    national_id = "".join((national_id or "").split()).upper()
    for name, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > 150:
            errors[name] = _("This text is too long.")
    if len(national_id) > 32:
        errors["national_id"] = _("This text is too long.")
    if errors:
        raise InvalidInput(_("Please check the family member's details."), fields=errors)
    return {
        "first_name": first_name,
        "last_name": last_name,
        "date_of_birth": date_of_birth,
        "gender": gender,
        "relationship": relationship,
        "national_id": national_id,
    }


@transaction.atomic
def dependant_add(
    *,
    holder: User,
    actor: User,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    relationship: str,
    gender: str = "",
    national_id: str = "",
) -> User:
    """Add a dependant to ``holder``'s account: a patient account without a login, its profile with
    the demographics and an empty medical record of its own. ``actor`` is the holder (or staff)."""
    if holder.role != Role.PATIENT or not holder.is_active or holder.guardian_id is not None:
        raise PermissionDenied(_("Only a patient with their own login can add family members."))
    if actor is None or not actor.is_authenticated or (actor.pk != holder.pk and actor.role not in ADMIN_SIDE):
        raise PermissionDenied(_("You can only add family members to your own account."))
    values = _clean(
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        gender=gender,
        relationship=relationship,
        national_id=national_id,
    )
    dependant = User.objects.create_user(
        email=f"dependant-{uuid.uuid4().hex[:16]}@{NO_EMAIL_DOMAIN}",
        password=None,  # unusable: a dependant cannot sign in until given a login (dependant_convert)
        role=Role.PATIENT,
        first_name=values["first_name"],
        last_name=values["last_name"],
        guardian=holder,
        relationship=values["relationship"],
        language=holder.language,
        time_zone=holder.time_zone,
    )
    _save_demographics(dependant, values)
    # ids and the relationship, never the demographics
    audit_log(
        actor=actor,
        action="accounts.dependant.added",
        obj=dependant,
        data={"holder": holder.pk, "relationship": values["relationship"]},
    )
    return dependant


def _save_demographics(dependant: User, values: dict) -> None:
    """The dependant's date of birth, gender and national ID live on their patient profile."""
    profile = patient_profile_ensure(user=dependant)
    profile.date_of_birth = values["date_of_birth"]
    profile.gender = values["gender"]
    profile.national_id = values["national_id"]
    profile.save(update_fields=["date_of_birth", "gender", "national_id", "updated_at"])


@transaction.atomic
def dependant_update(
    *,
    dependant: User,
    actor: User,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    relationship: str,
    gender: str = "",
    national_id: str = "",
) -> User:
    """Change a dependant's name, date of birth, gender, relationship or national ID."""
    if dependant.guardian_id is None or not may_manage(actor=actor, dependant=dependant):
        raise NotFound(_("Family member not found."))
    values = _clean(
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        gender=gender,
        relationship=relationship,
        national_id=national_id,
    )
    dependant.first_name, dependant.last_name = values["first_name"], values["last_name"]
    dependant.relationship = values["relationship"]
    dependant.save(update_fields=["first_name", "last_name", "relationship"])
    _save_demographics(dependant, values)
    audit_log(
        actor=actor,
        action="accounts.dependant.updated",
        obj=dependant,
        data={"holder": dependant.guardian_id, "relationship": values["relationship"]},
    )
    return dependant


def dependant_convert(*, dependant: User, actor: User, email: str) -> User:
    """Give a dependant a login of their own: their email becomes the account's, the guardian link is
    cleared (the audit row keeps who the holder was) and an invitation to set a password is queued.
    The account is the same row, so every visit, note, document and the medical record stay theirs;
    from now on the former holder no longer sees or manages their visits."""
    if dependant.guardian_id is None or not may_manage(actor=actor, dependant=dependant):
        raise NotFound(_("Family member not found."))
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(_("Enter a valid email address."), fields={"email": _("Enter a valid email address.")})
    if email.endswith("@" + NO_EMAIL_DOMAIN):
        raise InvalidInput(_("Enter a valid email address."), fields={"email": _("Enter a valid email address.")})
    taken = InvalidInput(
        _("An account with this email address exists already."),
        fields={"email": _("An account with this email address exists already.")},
    )
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=dependant.pk)
        if locked.guardian_id is None:
            raise NotFound(_("Family member not found."))
        if User.objects.filter(email__iexact=email).exclude(pk=locked.pk).exists():
            raise taken
        holder_id, relationship = locked.guardian_id, locked.relationship
        locked.email = email
        locked.guardian = None
        locked.relationship = ""
        try:
            with transaction.atomic():
                locked.save(update_fields=["email", "guardian", "relationship"])
        except IntegrityError:  # the address was registered a moment ago
            raise taken from None
        # following the set-password link proves the mailbox, as for a doctor's invitation
        user_mark_email_verified(user=locked)
        audit_log(
            actor=actor,
            action="accounts.dependant.converted",
            obj=locked,
            data={"former_holder": holder_id, "relationship": relationship},
        )
        outbox_add(kind=INVITATION_KIND, recipient=locked, obj=locked, dedupe_key=f"{INVITATION_KIND}:{locked.pk}")
    dependant.refresh_from_db()
    return dependant
