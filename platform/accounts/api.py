"""The signed-in person's own profile under /api/v1 (seed 002 ``GET/PUT /users/profile``).

Everyone has a name, a language and a time zone; patients also have their contact and identity data
(phone, national id, date of birth), which fill in their bookings.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router
from pydantic import field_validator

from accounts.models import PatientProfile, Role
from accounts.services import patient_profile_update, user_profile_update
from core.apitypes import ERRORS, ApiDate, ApiSchema, OutSchema
from core.errors import InvalidInput

router = Router(tags=["account"], by_alias=True)

#: fields only a patient's profile has
PATIENT_FIELDS = {"phone": "phone", "national_id": "nationalId", "date_of_birth": "dateOfBirth"}


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


class ProfileOut(OutSchema):
    id: int
    email: str
    first_name: str
    last_name: str
    role: str
    language: str
    time_zone: str = Field(..., description="the zone times are shown in (the clinic's when not chosen)")
    phone: str | None = Field(..., description="patients only")
    national_id: str | None = Field(..., description="patients only")
    date_of_birth: str | None = Field(..., description="patients only")


class ProfileIn(ApiSchema):
    """Every field is optional: what is sent changes, the rest stays (PUT and PATCH alike)."""

    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)
    language: str | None = Field(None, description="en or vi; empty: the browser's")
    time_zone: str | None = Field(None, max_length=64, examples=["Asia/Ho_Chi_Minh"])
    phone: str | None = Field(None, max_length=32)
    national_id: str | None = Field(None, max_length=32)
    date_of_birth: ApiDate | None = None

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        if value is not None and value not in {"", *(code for code, _name in settings.LANGUAGES)}:
            raise ValueError("Unknown language.")
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value != "" and value not in _time_zones():
            raise ValueError("Unknown time zone (use an IANA name such as Asia/Ho_Chi_Minh).")
        return value


def profile_out(user) -> dict:
    profile = PatientProfile.objects.filter(user=user).first() if user.role == Role.PATIENT else None
    return {
        "id": user.pk,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "language": user.language or "",
        "time_zone": user.effective_time_zone,
        "phone": profile.phone if profile else None,
        "national_id": profile.national_id if profile else None,
        "date_of_birth": profile.date_of_birth.isoformat() if profile and profile.date_of_birth else None,
    }


@router.get("/profile", summary="Your profile", response={200: ProfileOut, **ERRORS})
def profile_read(request):
    return profile_out(request.auth)


@router.api_operation(["PUT", "PATCH"], "/profile", summary="Change your profile", response={200: ProfileOut, **ERRORS})
def profile_update(request, payload: ProfileIn):
    user = request.auth
    fields = payload.model_dump(exclude_unset=True, exclude_none=True)
    patient_only = [PATIENT_FIELDS[name] for name in PATIENT_FIELDS if name in fields]
    if user.role != Role.PATIENT and patient_only:
        raise InvalidInput(_("Only patients have these details."), fields=patient_only)
    if fields.get("date_of_birth") and fields["date_of_birth"] > timezone.localdate():
        raise InvalidInput(_("The date of birth is in the future."), fields=["dateOfBirth"])
    for name in ("first_name", "last_name", "phone", "national_id"):
        if name in fields:
            fields[name] = fields[name].strip()
    if user.role == Role.PATIENT:
        patient_profile_update(user=user, actor=user, **fields)
    else:
        user_profile_update(user=user, actor=user, **fields)
    user.refresh_from_db()
    return profile_out(user)
