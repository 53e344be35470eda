"""The clinic's catalogue under /api/v1 (seed 002): specialties and services (visit types with their
price and mode). Public reads: anyone may browse what the clinic offers.

Names are data kept per language (``TranslatedName``): each answer gives them in the caller's language
(``Accept-Language``, chosen by Django's LocaleMiddleware; English when no translation is stored), and
``q`` finds words in either language."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _
from ninja import Field, Query, Router

from booking.models import AppointmentMode, AppointmentType, Specialty
from core.apitypes import ERRORS, ApiQuery, Id, OutSchema, PageOut, Pagination, Text, paginate
from core.errors import NotFound

router = Router(tags=["catalogue"], by_alias=True, auth=None)


#: the description of every translated name in the schema
NAME_IN_LANGUAGE = "in the request's language (Accept-Language: en or vi); English when no translation is stored"


class SpecialtyOut(OutSchema):
    id: int
    name: str = Field(..., description=NAME_IN_LANGUAGE)
    slug: str
    description: str


class SpecialtyPage(PageOut):
    items: list[SpecialtyOut]


class ServiceOut(OutSchema):
    """A visit type. ``price`` is null when the visit costs the doctor's consultation fee."""

    id: int
    name: str = Field(..., description=NAME_IN_LANGUAGE)
    code: str = Field(..., description="the kind: initial, follow_up or other")
    duration_minutes: int
    price: str | None
    mode: str
    mode_label: str


class ServicePage(PageOut):
    items: list[ServiceOut]


class SearchQuery(ApiQuery):
    q: Text = Field("", max_length=100, description="words in the name (English or Vietnamese)")


class ServiceQuery(SearchQuery):
    mode: AppointmentMode | None = None
    code: AppointmentType.Kind | None = Field(None, description="the kind of visit")


def _specialty_out(specialty: Specialty) -> dict:
    return {"id": specialty.pk, "name": specialty.label, "slug": specialty.slug, "description": specialty.description}


def _service_out(kind: AppointmentType) -> dict:
    return {
        "id": kind.pk,
        "name": kind.label,
        "code": kind.kind,
        "duration_minutes": kind.duration_minutes,
        "price": str(kind.price) if kind.price is not None else None,
        "mode": kind.mode,
        "mode_label": str(kind.get_mode_display()),
    }


@router.get("/specialties", summary="Medical specialties", response={200: SpecialtyPage, **ERRORS})
def specialties(request, query: Query[SearchQuery], page: Query[Pagination]):
    qs = Specialty.objects.filter(is_active=True).order_by("name", "pk")
    if query.q.strip():
        words = query.q.strip()
        qs = qs.filter(Q(name__icontains=words) | Q(name_vi__icontains=words) | Q(slug__icontains=words))
    return paginate(qs, page, _specialty_out)


@router.get("/specialties/{int:specialty_id}", summary="One specialty", response={200: SpecialtyOut, **ERRORS})
def specialty(request, specialty_id: Id):
    found = Specialty.objects.filter(pk=specialty_id, is_active=True).first()
    if found is None:
        raise NotFound(_("No such specialty."))
    return _specialty_out(found)


@router.get(
    "/services", summary="Services: visit types with their price and mode", response={200: ServicePage, **ERRORS}
)
def services(request, query: Query[ServiceQuery], page: Query[Pagination]):
    qs = AppointmentType.objects.filter(is_active=True).order_by("name", "pk")
    if query.q.strip():
        qs = qs.filter(Q(name__icontains=query.q.strip()) | Q(name_vi__icontains=query.q.strip()))
    if query.mode:
        qs = qs.filter(mode=query.mode)
    if query.code:
        qs = qs.filter(kind=query.code)
    return paginate(qs, page, _service_out)


@router.get("/services/{int:service_id}", summary="One service", response={200: ServiceOut, **ERRORS})
def service(request, service_id: Id):
    found = AppointmentType.objects.filter(pk=service_id, is_active=True).first()
    if found is None:
        raise NotFound(_("No such service."))
    return _service_out(found)
