"""Search-engine and social-preview data for the public pages: meta tags and schema.org JSON-LD."""

from __future__ import annotations

import json
from typing import Any

from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

SOCIAL_IMAGE = "fill-1200x630"
#: schema.org day names, by weekday number (Monday is 0, as in ``django.utils.dates.WEEKDAYS``)
SCHEMA_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Open Graph wants language_TERRITORY
OG_LOCALES = {"en": "en_US", "vi": "vi_VN"}

# json.dumps leaves these alone; inside <script> they could close the element or open a comment.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def jsonld_script(data: dict[str, Any]) -> SafeString:
    """``data`` as a ``<script type="application/ld+json">`` element, safe to put in a template."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308 - escaped above


def og_locale(language_code: str) -> str:
    return OG_LOCALES.get(language_code, translation.to_locale(language_code))


def image_url(request, image, spec: str = SOCIAL_IMAGE) -> str:
    """An absolute address of a Wagtail image rendition (social previews need absolute addresses)."""
    return request.build_absolute_uri(image.get_rendition(spec).url)


def social_image_url(request, page, clinic) -> str:
    """The picture a shared link shows: the page's own, the doctor's photo, or the clinic's default."""
    image = page.social_image() if hasattr(page, "social_image") else None
    if image is not None:
        return image_url(request, image)
    doctor = getattr(page, "doctor", None)
    if doctor is not None and doctor.photo:
        return request.build_absolute_uri(doctor.photo.url)
    if clinic is not None and clinic.default_social_image_id:
        return image_url(request, clinic.default_social_image)
    return ""


def opening_hours_specification(clinic) -> list[dict[str, str]]:
    rows = []
    for block in clinic.opening_hours:
        value = block.value
        if value.get("closed") or not value.get("opens") or not value.get("closes"):
            continue
        rows.append(
            {
                "@type": "OpeningHoursSpecification",
                "dayOfWeek": f"https://schema.org/{SCHEMA_DAYS[int(value['day'])]}",
                "opens": value["opens"].strftime("%H:%M"),
                "closes": value["closes"].strftime("%H:%M"),
            }
        )
    return rows


def physician_jsonld(*, page, doctor, request, bookable: bool, rating=None) -> SafeString:
    """schema.org ``Physician`` for a doctor's profile page, with the clinic's address and hours, and
    an ``AggregateRating`` once the doctor has enough ratings for an average (``rating``: a
    ``workflows.operations.selectors.RatingSummary``)."""
    from cms.models import ClinicSettings

    clinic = ClinicSettings.for_request(request)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Physician",
        "name": str(doctor),
        "url": page.get_full_url(request),
        "medicalSpecialty": [specialty.name for specialty in doctor.specialties.all()],
        "knowsLanguage": doctor.language_list,
        "isAcceptingNewPatients": bookable,
    }
    description = page.meta_description() or doctor.bio[:300]
    if description:
        data["description"] = description
    image = social_image_url(request, page, None)
    if image:
        data["image"] = image
    if doctor.consultation_fee:
        data["priceRange"] = f"{doctor.consultation_fee.normalize():f} {doctor.currency}"
        data["currenciesAccepted"] = doctor.currency
    if clinic.phone:
        data["telephone"] = clinic.phone
    if clinic.address:
        data["address"] = {"@type": "PostalAddress", "streetAddress": " ".join(clinic.address.split())}
    hours = opening_hours_specification(clinic)
    if hours:
        data["openingHoursSpecification"] = hours
    if rating is not None and rating.average is not None:
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": str(rating.average),
            "ratingCount": rating.count,
            "bestRating": 5,
            "worstRating": 1,
        }
    return jsonld_script(data)


def medical_clinic_jsonld(*, page, facility, request, photos=()) -> SafeString:
    """schema.org ``MedicalClinic`` for a facility's page: address, coordinates, phone, hours (as the
    facility's text), a map link, and as ``image`` the page's own picture and the facility's ``photos``
    (``booking.FacilityPhoto``, in their order; a list as soon as the facility has photos)."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "MedicalClinic",
        "name": facility.name,
        "url": page.get_full_url(request),
        "address": {
            "@type": "PostalAddress",
            "streetAddress": facility.address,
            "addressLocality": facility.district or facility.city,
            "addressRegion": facility.city,
        },
    }
    description = page.meta_description()
    if description:
        data["description"] = description
    if facility.latitude is not None and facility.longitude is not None:
        data["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": float(facility.latitude),
            "longitude": float(facility.longitude),
        }
        data["hasMap"] = facility.map_url
    if facility.phone:
        data["telephone"] = facility.phone
    if facility.opening_hours.strip():
        # free text kept by staff ("Mon–Fri 07:30–17:00"); schema.org accepts a description here
        data["openingHours"] = [line.strip() for line in facility.opening_hours.splitlines() if line.strip()]
    page_image = social_image_url(request, page, None)
    images = [request.build_absolute_uri(photo.image.url) for photo in photos]
    if images:
        data["image"] = [page_image, *images] if page_image else images
    elif page_image:
        data["image"] = page_image
    return jsonld_script(data)
