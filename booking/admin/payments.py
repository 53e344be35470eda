"""Payments, refunds and vouchers in the admin: read-only money records (every change goes through
booking's services), CSV/XLSX exports of payments, refunds with their delivery state."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from booking.admin.filters import GatewayFilter, LocalRangeDateTimeFilter
from booking.admin.resources import PaymentResource
from booking.models import Payment, PaymentStatus, Refund, RefundStatus, Voucher
from core.admin_actions import ReadOnlyAdminMixin
from core.admin_exports import RoleExportMixin
from core.paginator import DeferredJoinPaginator

# --- payments and vouchers ------------------------------------------------------------------------


class RefundInline(TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ("created_at", "amount", "reason", "status", "attempts", "last_error", "provider_reference", "sent_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(RoleExportMixin, ModelAdmin):
    list_display = ("id", "appointment", "gateway", "amount", "currency", "status_badge", "created_at", "paid_at")
    list_filter = ("status", "gateway", ("created_at", LocalRangeDateTimeFilter))
    list_filter_submit = True
    search_fields = ("provider_reference", "appointment__last_name", "appointment__email", "=appointment__id")
    list_select_related = ("appointment__doctor__user",)
    show_full_result_count = False
    paginator = DeferredJoinPaginator
    readonly_fields = [f.name for f in Payment._meta.fields]
    inlines = [RefundInline]
    resource_classes = [PaymentResource]

    def get_list_filter(self, request):
        return tuple(GatewayFilter if f == "gateway" else f for f in super().get_list_filter(request))

    @display(
        description=_("Status"),
        label={
            PaymentStatus.SUCCEEDED: "success",
            PaymentStatus.PENDING: "warning",
            PaymentStatus.FAILED: "danger",
            PaymentStatus.REFUNDED: "info",
        },
    )
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Money owed back to patients and where each refund stands with its gateway (sent by the worker,
    retried with backoff; "failed" ones need a person)."""

    list_display = ("id", "payment", "amount", "status_badge", "attempts", "last_error", "created_at", "sent_at")
    list_filter = ("status", "payment__gateway", ("created_at", LocalRangeDateTimeFilter))
    list_filter_submit = True
    search_fields = ("=id", "provider_reference", "payment__appointment__last_name", "=payment__appointment__id")
    list_select_related = ("payment",)
    show_full_result_count = False
    readonly_fields = [f.name for f in Refund._meta.fields]

    @display(
        description=_("Status"),
        label={
            RefundStatus.SUCCEEDED: "success",
            RefundStatus.PENDING: "warning",
            RefundStatus.SENDING: "info",
            RefundStatus.FAILED: "danger",
        },
    )
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()


@admin.register(Voucher)
class VoucherAdmin(ModelAdmin):
    list_display = ("code", "kind", "value", "valid_from", "valid_until", "used_count", "max_uses", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code",)
    readonly_fields = ("used_count",)

    def save_model(self, request, obj, form, change):
        obj.code = obj.code.strip().upper()
        super().save_model(request, obj, form, change)
