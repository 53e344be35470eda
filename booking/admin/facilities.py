"""Facilities and their rooms in the admin: reference data the clinic's staff keep (every change audited).

A facility or room that availability uses cannot be deleted (the foreign keys protect it); close it
instead (``is_active``), and new availability can no longer be put there.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext_lazy
from unfold.admin import TabularInline
from unfold.decorators import display

from booking.admin.scheduling import AuditedModelAdmin
from booking.models import Facility, Room
from core.audit import audit_log


class RoomInline(TabularInline):
    model = Room
    fields = ("name", "is_active")
    extra = 0


@admin.register(Facility)
class FacilityAdmin(AuditedModelAdmin):
    list_display = ("name", "district", "city", "phone", "room_count", "map_link", "is_active")
    list_filter = ("is_active", "city")
    search_fields = ("name", "address", "district", "city")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug", "is_active")}),
        (gettext_lazy("Address"), {"fields": ("address", "district", "city", "latitude", "longitude")}),
        (gettext_lazy("Contact"), {"fields": ("phone", "opening_hours", "photo")}),
    )
    inlines = [RoomInline]

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
        # read before saving: a deleted row has no primary key afterwards
        going = [(f.instance.pk, f.instance.name) for f in formset.deleted_forms if f.instance.pk]
        super().save_formset(request, form, formset, change)
        for room in formset.new_objects:
            audit_log(actor=request.user, action="booking.room.created", obj=room, data={"facility": room.facility_id})
        for room, fields in formset.changed_objects:
            audit_log(actor=request.user, action="booking.room.changed", obj=room, data={"fields": sorted(fields)})
        for pk, name in going:
            audit_log(
                actor=request.user,
                action="booking.room.deleted",
                obj=form.instance,
                data={"room": pk, "name": name},
            )


@admin.register(Room)
class RoomAdmin(AuditedModelAdmin):
    list_display = ("name", "facility", "is_active")
    list_filter = ("is_active", "facility")
    search_fields = ("name", "facility__name")
    list_select_related = ("facility",)
