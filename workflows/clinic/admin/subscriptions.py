"""Doctors' subscriptions in the admin: plans, start, record payments, change plan, cancel and resume."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    RangeDateTimeFilter,
)
from unfold.decorators import display
from unfold.enums import ActionVariant

from booking.admin.history import HistoryInline
from booking.models import Doctor
from booking.payments import Charge, sandbox, sandbox_enabled
from booking.services import payment_webhook_process
from core.admin_actions import ConfirmForm, button, confirm_dialog, find, run_service
from core.audit import audit_log
from core.errors import DomainError
from core.money import money_text
from core.paginator import DeferredJoinPaginator
from workflows.clinic import services as svc
from workflows.clinic.admin.common import ReadOnlyInline, _says, _subscriber_words
from workflows.clinic.models import (
    ChargeStatus,
    DoctorSubscription,
    SubscriptionCharge,
    SubscriptionEvent,
    SubscriptionPlan,
    SubscriptionStatus,
)

# --- subscriptions --------------------------------------------------------------------------------


@admin.register(SubscriptionPlan)
class SubscriptionPlanAdmin(ModelAdmin):
    list_display = ("name", "price", "currency", "period_months", "is_active", "subscriber_count")
    list_filter = ("is_active",)
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(subscribers=Count("subscriptions"))

    @display(description=_("subscribers"), ordering="subscribers")
    def subscriber_count(self, obj):
        return obj.subscribers

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_log(
            actor=request.user,
            action="clinic.subscription_plan.changed" if change else "clinic.subscription_plan.created",
            obj=obj,
            data={"fields": sorted(form.changed_data)},
        )

    def has_delete_permission(self, request, obj=None):
        return False  # plans are retired ("offered" off), never deleted: history points at them


class SubscriptionEventInline(ReadOnlyInline):
    model = SubscriptionEvent
    verbose_name_plural = _("History")
    fields = ("created_at", "kind", "amount", "reference", "period_start", "period_end", "actor")
    readonly_fields = fields


class SubscriptionStartForm(forms.ModelForm):
    paid = forms.BooleanField(label=_("The first period is paid"), required=False)

    class Meta:
        model = DoctorSubscription
        fields = ("doctor", "plan")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = Doctor.objects.filter(subscription__isnull=True).select_related("user")
        self.fields["plan"].queryset = SubscriptionPlan.objects.filter(is_active=True)


class PaymentRecordForm(ConfirmForm):
    amount = forms.DecimalField(label=_("Amount received"), min_value=0, decimal_places=2, max_digits=12)
    reference = forms.CharField(label=_("Reference (receipt, transfer)"), max_length=120, required=False)


class PlanChangeForm(ConfirmForm):
    plan = forms.ModelChoiceField(label=_("New plan (from the next renewal)"), queryset=SubscriptionPlan.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = SubscriptionPlan.objects.filter(is_active=True)


SUBSCRIPTION_COLOURS = {
    SubscriptionStatus.ACTIVE: "success",
    SubscriptionStatus.OVERDUE: "danger",
    SubscriptionStatus.CANCELLED: "info",
}


@admin.register(DoctorSubscription)
class DoctorSubscriptionAdmin(ModelAdmin):
    paginator = DeferredJoinPaginator
    list_display = ("doctor", "plan", "status_badge", "current_period_end", "credit")
    list_filter = ("status", "plan", ("current_period_end", RangeDateTimeFilter))
    list_filter_submit = True
    search_fields = ("doctor__user__first_name", "doctor__user__last_name", "doctor__user__email")
    list_select_related = ("doctor__user", "plan")
    show_full_result_count = False
    inlines = [SubscriptionEventInline, HistoryInline]
    actions_detail = [
        "pay_now_detail",
        "record_payment_detail",
        "change_plan_detail",
        "cancel_detail",
        "resume_detail",
    ]
    readonly_fields = (
        "doctor",
        "plan",
        "status",
        "current_period_start",
        "current_period_end",
        "amount_due",
        "billing_anchor",
        "credit",
        "cancelled_at",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("doctor__user", "plan")
        if request.user.is_superuser:
            return qs
        return qs.filter(doctor__user=request.user)  # a doctor sees their own subscription only

    @display(description=_("due for the next period"))
    def amount_due(self, obj):
        return money_text(svc.subscription_amount_due(obj), obj.plan.currency)

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = SubscriptionStartForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("doctor", "plan", "paid")
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        created = svc.subscription_start(
            doctor=data["doctor"], plan=data["plan"], actor=request.user, paid=data["paid"]
        )
        obj.pk = created.pk
        obj._state.adding = False

    @display(description=_("status"), label=SUBSCRIPTION_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    def _subscription(self, request, object_id) -> DoctorSubscription:
        subscription = self.get_object(request, object_id)
        if subscription is None:
            raise Http404
        return subscription

    def _state_allows(self, request, object_id, *statuses) -> bool:
        if object_id is None or not request.user.is_superuser:
            return False
        return self._subscription(request, object_id).status in statuses

    def has_pay_now_detail_permission(self, request, object_id=None):
        if object_id is None or request.user.is_superuser:
            return False
        subscription = find(self.get_queryset(request), object_id)  # their own, or nothing
        return subscription is not None and svc.subscription_can_pay(subscription=subscription, user=request.user)

    def has_record_payment_detail_permission(self, request, object_id=None):
        return self._state_allows(request, object_id, SubscriptionStatus.ACTIVE, SubscriptionStatus.OVERDUE)

    def has_change_plan_detail_permission(self, request, object_id=None):
        return self._state_allows(request, object_id, SubscriptionStatus.ACTIVE, SubscriptionStatus.OVERDUE)

    def has_cancel_detail_permission(self, request, object_id=None):
        return self._state_allows(request, object_id, SubscriptionStatus.ACTIVE, SubscriptionStatus.OVERDUE)

    def has_resume_detail_permission(self, request, object_id=None):
        return self._state_allows(request, object_id, SubscriptionStatus.CANCELLED)

    def _back(self, object_id):
        return reverse("admin:clinic_doctorsubscription_change", args=[object_id])

    def get_urls(self):
        return [
            path(
                "<path:object_id>/pay/<int:charge_id>/sandbox/",
                self.admin_site.admin_view(self.sandbox_checkout_view),
                name="clinic_doctorsubscription_sandbox_checkout",
            ),
            *super().get_urls(),
        ]

    @button(
        description=_("Pay now"),
        permissions=["pay_now_detail"],
        icon="credit_card",
        variant=ActionVariant.PRIMARY,
        dialog=confirm_dialog(
            title=_("Pay your subscription"),
            submit=_("Go to payment"),
            consequence=_says(
                DoctorSubscription,
                _(
                    "You pay %(amount)s for the next period of %(plan)s; the subscription is renewed once the payment arrives."
                ),
                lambda obj: {
                    "amount": money_text(svc.subscription_amount_due(obj), obj.plan.currency),
                    "plan": obj.plan.name,
                },
            ),
        ),
    )
    def pay_now_detail(self, request, form, object_id):
        subscription = self._subscription(request, object_id)
        back = self._back(object_id)
        try:
            charge = svc.subscription_checkout_start(
                subscription=subscription,
                actor=request.user,
                sandbox_page=lambda pk: reverse(
                    "admin:clinic_doctorsubscription_sandbox_checkout", args=[subscription.pk, pk]
                ),
                success_url=request.build_absolute_uri(back),
                cancel_url=request.build_absolute_uri(back),
            )
        except DomainError as exc:
            messages.error(request, str(exc))
            return redirect(back)
        return redirect(charge.checkout_url or back)

    def _sandbox_checkout(self, request, subscription, charge):
        back = reverse("admin:clinic_doctorsubscription_change", args=[subscription.pk])
        if request.method == "POST" and charge.status == ChargeStatus.PENDING:
            outcome = "succeeded" if request.POST.get("action") == "pay" else "failed"
            body = sandbox.build_event(
                outcome=outcome,
                charge=Charge(
                    kind=svc.CHARGE_KIND,
                    pk=charge.pk,
                    amount=charge.amount,
                    currency=charge.currency,
                    description="",
                ),
                reference=charge.provider_reference,
            )
            try:
                payment_webhook_process(
                    gateway="sandbox", body=body, headers={sandbox.SIGNATURE_HEADER: sandbox.sign(body)}
                )
            except DomainError as exc:
                messages.error(request, str(exc))
            else:
                charge.refresh_from_db()
                if charge.status == ChargeStatus.SUCCEEDED:
                    messages.success(request, _("Payment received: your subscription is renewed."))
                else:
                    messages.warning(request, _("The payment was cancelled; nothing was charged."))
            return redirect(back)
        return TemplateResponse(
            request,
            "admin/clinic/subscription_sandbox_checkout.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Checkout (sandbox)"),
                "subscription": subscription,
                "charge": charge,
                "back": back,
            },
        )

    def sandbox_checkout_view(self, request, object_id, charge_id):
        """The sandbox gateway's test checkout for a subscription charge: Pay / Cancel post a signed
        event through the same webhook processing as a real gateway. The charge's doctor only."""
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not sandbox_enabled():
            raise Http404
        subscription = self._subscription(request, object_id)
        charge = SubscriptionCharge.objects.filter(
            pk=charge_id, subscription=subscription, gateway="sandbox", subscription__doctor__user=request.user
        ).first()
        if charge is None:
            raise Http404
        return self._sandbox_checkout(request, subscription, charge)

    @button(
        description=_("Record payment"),
        permissions=["record_payment_detail"],
        icon="payments",
        variant=ActionVariant.PRIMARY,
        dialog=confirm_dialog(
            title=_("Record a subscription payment"),
            description=_("Credited now, used at the renewal date; an overdue subscription renews at once."),
            submit=_("Record"),
            form_class=PaymentRecordForm,
        ),
    )
    def record_payment_detail(self, request, form, object_id):
        subscription = self._subscription(request, object_id)
        return run_service(
            request,
            lambda: svc.subscription_payment_record(
                subscription=subscription,
                amount=form.cleaned_data["amount"],
                reference=form.cleaned_data["reference"],
                actor=request.user,
            ),
            _("Payment recorded."),
            back=self._back(object_id),
        )

    @button(
        description=_("Change plan"),
        permissions=["change_plan_detail"],
        icon="swap_horiz",
        dialog=confirm_dialog(title=_("Change plan"), submit=_("Change"), form_class=PlanChangeForm),
    )
    def change_plan_detail(self, request, form, object_id):
        subscription = self._subscription(request, object_id)
        return run_service(
            request,
            lambda: svc.subscription_change_plan(
                subscription=subscription, plan=form.cleaned_data["plan"], actor=request.user
            ),
            _("Plan changed; it applies from the next renewal."),
            back=self._back(object_id),
        )

    @button(
        description=_("Cancel subscription"),
        permissions=["cancel_detail"],
        icon="cancel",
        variant=ActionVariant.DANGER,
        dialog=confirm_dialog(
            title=_("Cancel this subscription"),
            submit=_("Cancel subscription"),
            consequence=_says(
                DoctorSubscription,
                _(
                    "%(doctor)s's subscription to %(plan)s is cancelled: it is no longer renewed or charged. "
                    "It can be resumed later, starting a new period."
                ),
                _subscriber_words,
            ),
        ),
    )
    def cancel_detail(self, request, form, object_id):
        subscription = self._subscription(request, object_id)
        return run_service(
            request,
            lambda: svc.subscription_cancel(subscription=subscription, actor=request.user),
            _("Subscription cancelled."),
            back=self._back(object_id),
        )

    @button(
        description=_("Resume"),
        permissions=["resume_detail"],
        icon="play_arrow",
        dialog=confirm_dialog(
            title=_("Resume this subscription"),
            submit=_("Resume"),
            consequence=_says(
                DoctorSubscription,
                _("%(doctor)s's subscription to %(plan)s starts a new period today, paid from the credit at renewal."),
                _subscriber_words,
            ),
        ),
    )
    def resume_detail(self, request, form, object_id):
        subscription = self._subscription(request, object_id)
        return run_service(
            request,
            lambda: svc.subscription_resume(subscription=subscription, actor=request.user),
            _("Subscription resumed from today."),
            back=self._back(object_id),
        )
