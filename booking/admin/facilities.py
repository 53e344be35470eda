"""Facilities, their rooms and photos in the admin: reference data the clinic's staff keep (every change
audited).

A facility or room that availability uses cannot be deleted (the foreign keys protect it); close it
instead (``is_active``), and new availability can no longer be put there.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext_lazy
from unfold.admin import StackedInline, TabularInline
from unfold.decorators import display

from booking.admin.scheduling import AuditedModelAdmin
from booking.models import Facility, FacilityPhoto, Room
from core.audit import audit_log


class RoomInline(TabularInline):
    model = Room
    fields = ("name", "is_active")
    extra = 0


class FacilityPhotoInline(StackedInline):
    """The photos of the facility's public page, first ``position`` first (drag a photo, or type numbers).
    Stacked rather than a table: alt text is a sentence, and each language gets its own box."""

    model = FacilityPhoto
    fields = ("image", ("alt_text", "alt_text_vi"), ("caption", "caption_vi"), "position")
    ordering_field = "position"
    extra = 0


#: the audit name of each inline's rows (``booking.<name>.created`` …)
INLINE_AUDIT_NAMES = {Room: "room", FacilityPhoto: "facility_photo"}


def _row_label(row) -> str:
    return row.name if isinstance(row, Room) else row.image.name


@admin.register(Facility)
class FacilityAdmin(AuditedModelAdmin):
    list_display = ("name", "district", "city", "phone", "room_count", "map_link", "is_active")
    list_filter = ("is_active", "city")
    search_fields = ("name", "address", "district", "city")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug", "is_active")}),
        (gettext_lazy("Address"), {"fields": ("address", "district", "city", "latitude", "longitude")}),
        (gettext_lazy("Contact"), {"fields": ("phone", "opening_hours")}),
    )
    inlines = [RoomInline, FacilityPhotoInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(room_total=Count("rooms"))

    @display(description=gettext_lazy("rooms"), ordering="room_total")
    def room_count(self, obj):
        return obj.room_total

    @display(description=gettext_lazy("map"))
    def map_link(self, obj):
        if not obj.map_url:
            return "—"
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', obj.map_url, gettext_lazy("Map"))

    def save_formset(self, request, form, formset, change):
        name = INLINE_AUDIT_NAMES[formset.model]
        # read before saving: a deleted row has no primary key afterwards
        going = [(f.instance.pk, _row_label(f.instance)) for f in formset.deleted_forms if f.instance.pk]
        super().save_formset(request, form, formset, change)
        for row in formset.new_objects:
            audit_log(actor=request.user, action=f"booking.{name}.created", obj=row, data={"facility": row.facility_id})
        for row, fields in formset.changed_objects:
            audit_log(actor=request.user, action=f"booking.{name}.changed", obj=row, data={"fields": sorted(fields)})
        for pk, label in going:
            audit_log(
                actor=request.user,
                action=f"booking.{name}.deleted",
                obj=form.instance,
                data={name: pk, "name": label},
            )


@admin.register(Room)
class RoomAdmin(AuditedModelAdmin):
    list_display = ("name", "facility", "is_active")
    list_filter = ("is_active", "facility")
    search_fields = ("name", "facility__name")
    list_select_related = ("facility",)
