"""CSV/XLSX exports in the admin (django-import-export): the shared pieces every app's admin uses.

Exports are built from the changelist's queryset, so they carry the list's filters, search and each
role's row scoping. Times are written in the clinic's zone.
"""

from __future__ import annotations

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import FieldError, ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
from unfold.contrib.import_export.forms import SelectableFieldsExportForm


class LocalDateTimeWidget(widgets.DateTimeWidget):
    """Times in the clinic's zone (what staff read everywhere else), not UTC."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def local_datetime(attribute: str, column: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=LocalDateTimeWidget(), readonly=True)


class SafeExportMixin:
    """An export link carries the changelist's filters in its query string; a hand-made one with
    filters the list does not know answers 400 with a way back, not a 500."""

    def export_action(self, request):
        try:
            return super().export_action(request)
        except (IncorrectLookupParameters, FieldError, ValidationError):
            opts = self.opts
            context = {
                **self.admin_site.each_context(request),
                "opts": opts,
                "title": _("This export link does not work"),
                "message": _(
                    "The link has filters this list does not know. Open the list, filter it, and export from there."
                ),
                "back_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            }
            return TemplateResponse(request, "admin/bad_request.html", context, status=400)


class RoleExportMixin(SafeExportMixin, ExportMixin):
    """CSV and XLSX exports of what the changelist shows: its filters, search and row scoping."""

    export_form_class = SelectableFieldsExportForm

    def get_export_formats(self):
        return [CSV, XLSX]

    def has_export_permission(self, request):
        return self.has_view_permission(request)


