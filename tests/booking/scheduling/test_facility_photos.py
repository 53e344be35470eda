"""A facility's photos: staff add, order and remove them on the facility's admin page (every change
audited); each has alt text and a caption in English and Vietnamese; a file too large is refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from wagtail.images.tests.utils import get_test_image_file

from booking.models import FacilityPhoto
from booking.models.scheduling import FACILITY_PHOTO_MAX_BYTES
from core.models import AuditLog
from tests.factories import FacilityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def change_form(facility, *, photos: list[dict], existing: int = 0) -> dict:
    """The facility's change form as the admin posts it, with ``photos`` as the photo inline's rows."""
    data = {
        "name": facility.name,
        "slug": facility.slug,
        "is_active": "on",
        "address": facility.address,
        "district": facility.district,
        "city": facility.city,
        "latitude": str(facility.latitude),
        "longitude": str(facility.longitude),
        "phone": facility.phone,
        "opening_hours": facility.opening_hours,
        "rooms-TOTAL_FORMS": "0",
        "rooms-INITIAL_FORMS": "0",
        "rooms-MIN_NUM_FORMS": "0",
        "rooms-MAX_NUM_FORMS": "1000",
        "photos-TOTAL_FORMS": str(len(photos)),
        "photos-INITIAL_FORMS": str(existing),
        "photos-MIN_NUM_FORMS": "0",
        "photos-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(photos):
        data.update({f"photos-{i}-{name}": value for name, value in row.items()})
    return data


def png(name: str):
    image = get_test_image_file(filename=name, size=(32, 24))
    return SimpleUploadedFile(name, image.file.getvalue(), content_type="image/png")


def test_staff_add_photos_with_alt_text_and_order_them(client, staff_binh):
    facility = FacilityFactory()
    client.force_login(staff_binh)
    url = f"/admin/booking/facility/{facility.pk}/change/"
    response = client.post(
        url,
        change_form(
            facility,
            photos=[
                {"image": png("hall.png"), "alt_text": "The hall", "alt_text_vi": "Sảnh", "position": "2"},
                {"image": png("front.png"), "alt_text": "The front", "caption": "Lê Lợi street", "position": "1"},
            ],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(facility.photos.values_list("alt_text", flat=True)) == ["The front", "The hall"]
    assert AuditLog.objects.filter(action="booking.facility_photo.created", actor=staff_binh).count() == 2
    page = client.get(url).content.decode()
    front = facility.photos.get(alt_text="The front")
    assert front.image.url in page and 'value="The front"' in page and 'value="Sảnh"' in page


def test_staff_remove_a_photo_and_it_is_audited(client, staff_binh):
    facility = FacilityFactory()
    photo = FacilityPhoto.objects.create(facility=facility, image=png("old.png"), alt_text="Old front")
    client.force_login(staff_binh)
    row = {"id": str(photo.pk), "facility": str(facility.pk), "alt_text": "Old front", "position": "0", "DELETE": "on"}
    response = client.post(
        f"/admin/booking/facility/{facility.pk}/change/", change_form(facility, photos=[row], existing=1)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not facility.photos.exists()
    entry = AuditLog.objects.get(action="booking.facility_photo.deleted", actor=staff_binh)
    assert entry.data["facility_photo"] == photo.pk


def test_a_photo_needs_alt_text_on_the_form(client, staff_binh):
    facility = FacilityFactory()
    client.force_login(staff_binh)
    response = client.post(
        f"/admin/booking/facility/{facility.pk}/change/",
        change_form(facility, photos=[{"image": png("x.png"), "alt_text": "", "position": "0"}]),
    )
    assert response.status_code == 200
    assert not facility.photos.exists()


def test_a_photo_larger_than_the_limit_is_refused():
    big = SimpleUploadedFile("big.jpg", b"0" * (FACILITY_PHOTO_MAX_BYTES + 1), content_type="image/jpeg")
    photo = FacilityPhoto(facility=FacilityFactory(), image=big, alt_text="Too big")
    with pytest.raises(ValidationError) as refused:
        photo.full_clean()
    assert [error.code for error in refused.value.error_dict["image"]] == ["photo_too_large"]


def test_alt_text_and_caption_follow_the_language_english_when_untranslated():
    photo = FacilityPhoto(alt_text="The hall", alt_text_vi="Sảnh", caption="Ground floor")
    with translation.override("vi"):
        assert (photo.alt, photo.caption_text) == ("Sảnh", "Ground floor")
    with translation.override("en"):
        assert (photo.alt, photo.caption_text) == ("The hall", "Ground floor")
