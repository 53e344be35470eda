"""Issued invoices and credit notes in the admin: read-only (only booking.services.invoices writes
them), each downloadable as its PDF. Staff and admins see every document; a doctor sees their own
(subscription invoices)."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from booking.admin.filters import LocalRangeDateTimeFilter
from booking.admin.scheduling import is_doctor_user
from booking.invoice_pdf import invoice_pdf
from booking.models import Invoice, InvoiceKind
from core.admin_actions import ReadOnlyAdminMixin
from core.money import money_text
from core.paginator import DeferredJoinPaginator


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("number", "kind_badge", "issued_at", "recipient", "total_text", "corrects", "pdf_link")
    list_filter = ("kind", "year", ("issued_at", LocalRangeDateTimeFilter))
    list_filter_submit = True
    search_fields = ("=number", "recipient__email", "recipient__last_name", "=payment__appointment__id")
    list_select_related = ("recipient", "corrects")
    show_full_result_count = False
    paginator = DeferredJoinPaginator
    fields = (
        "number",
        "kind",
        "issued_at",
        "recipient",
        "language",
        "total_text",
        "payment",
        "refund",
        "corrects",
        "source",
        "pdf_link",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if is_doctor_user(request):
            return qs.filter(recipient=request.user)  # a doctor's own subscription invoices
        return qs

    @display(description=_("Kind"), label={InvoiceKind.INVOICE: "success", InvoiceKind.CREDIT_NOTE: "info"})
    def kind_badge(self, obj):
        return obj.kind, obj.get_kind_display()

    @display(description=_("total"), ordering="total")
    def total_text(self, obj):
        return money_text(obj.total, obj.currency)

    @display(description=_("PDF"))
    def pdf_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return format_html(
            '<a class="text-primary-600 underline" href="{}" download>{}</a>',
            reverse("admin:booking_invoice_pdf", args=[obj.pk]),
            obj.filename,
        )

    def get_urls(self):
        return [
            path("<int:invoice_id>/pdf/", self.admin_site.admin_view(self.pdf_view), name="booking_invoice_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request, invoice_id):
        if not self.has_view_permission(request):
            raise Http404
        invoice = get_object_or_404(self.get_queryset(request), pk=invoice_id)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.filename}"'
        return response
