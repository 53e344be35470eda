"""Doctor subscriptions: the sweep renews from recorded payments (or for free) or marks overdue, and
an overdue doctor's slots stop being bookable and listed (while the setting says so)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from booking.selectors import doctor_search, free_slots
from booking.services import PolicyViolation, appointment_book
from core.models import AuditLog
from tests.booking.appointments.helpers import details_for
from tests.factories import publish_slots
from workflows.clinic.models import DoctorSubscription, SubscriptionEvent, SubscriptionPlan, SubscriptionStatus
from workflows.clinic.services import add_months, subscription_payment_record, subscription_start
from workflows.clinic.tasks import subscriptions_sweep

START = datetime(2025, 1, 31, 5, 0, tzinfo=UTC)


@pytest.fixture
def monthly(db):
    return SubscriptionPlan.objects.create(name="Monthly", price=Decimal("1000000"), period_months=1)


@pytest.fixture
def free_plan(db):
    return SubscriptionPlan.objects.create(name="Starter", price=Decimal("0"), period_months=3)


def events(subscription) -> list[str]:
    return list(
        SubscriptionEvent.objects.filter(subscription=subscription).order_by("id").values_list("kind", flat=True)
    )


def test_months_are_added_on_the_calendar():
    assert add_months(START, 1) == datetime(2025, 2, 28, 5, 0, tzinfo=UTC)
    assert add_months(START, 12) == datetime(2026, 1, 31, 5, 0, tzinfo=UTC)
    assert add_months(datetime(2024, 1, 31, tzinfo=UTC), 1).day == 29


def test_a_paid_renewal_starts_where_the_last_period_ended(dr_an, monthly, admin_an):
    subscription = subscription_start(doctor=dr_an, plan=monthly, actor=admin_an, now=START, paid=True)
    assert subscription.current_period_end == datetime(2025, 2, 28, 5, 0, tzinfo=UTC)
    subscription_payment_record(subscription=subscription, amount=Decimal("1000000"), actor=admin_an, reference="CK-1")

    assert subscriptions_sweep(now=datetime(2025, 2, 27, tzinfo=UTC)) == {}  # not due yet
    assert subscriptions_sweep(now=datetime(2025, 2, 28, 6, 0, tzinfo=UTC)) == {"renewed": 1}

    subscription = DoctorSubscription.objects.get()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.current_period_start == datetime(2025, 2, 28, 5, 0, tzinfo=UTC)
    assert subscription.current_period_end == datetime(2025, 3, 31, 5, 0, tzinfo=UTC)  # anchored on the 31st
    assert subscription.credit == 0
    assert events(subscription) == ["started", "payment_recorded", "renewed"]
    assert AuditLog.objects.filter(action="clinic.subscription.renewed").exists()


def test_an_unpaid_renewal_date_makes_the_subscription_overdue_once(dr_an, monthly, admin_an):
    subscription_start(doctor=dr_an, plan=monthly, actor=admin_an, now=START)
    later = datetime(2025, 3, 1, tzinfo=UTC)
    assert subscriptions_sweep(now=later) == {"overdue": 1}
    assert subscriptions_sweep(now=later + timedelta(hours=1)) == {}  # already overdue: nothing to do
    subscription = DoctorSubscription.objects.get()
    assert subscription.status == SubscriptionStatus.OVERDUE
    assert events(subscription) == ["started", "overdue"]


def test_a_free_plan_renews_by_itself(dr_an, free_plan, admin_an):
    subscription_start(doctor=dr_an, plan=free_plan, actor=admin_an, now=START)
    assert subscriptions_sweep(now=datetime(2025, 5, 1, tzinfo=UTC)) == {"renewed": 1}
    assert DoctorSubscription.objects.get().current_period_end == datetime(2025, 7, 31, 5, 0, tzinfo=UTC)


def test_a_partial_payment_does_not_renew(dr_an, monthly, admin_an):
    subscription = subscription_start(doctor=dr_an, plan=monthly, actor=admin_an, now=START)
    subscription_payment_record(subscription=subscription, amount=Decimal("400000"), actor=admin_an)
    assert subscriptions_sweep(now=datetime(2025, 3, 1, tzinfo=UTC)) == {"overdue": 1}
    assert DoctorSubscription.objects.get().credit == Decimal("400000")


def test_paying_an_overdue_subscription_renews_it_from_the_payment_day(dr_an, monthly, admin_an):
    subscription = subscription_start(doctor=dr_an, plan=monthly, actor=admin_an, now=START)
    subscriptions_sweep(now=datetime(2025, 3, 1, tzinfo=UTC))
    paid_on = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    subscription_payment_record(subscription=subscription, amount=Decimal("1000000"), actor=admin_an, now=paid_on)
    subscription = DoctorSubscription.objects.get()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert (subscription.current_period_start, subscription.current_period_end) == (
        paid_on,
        datetime(2025, 4, 10, 2, 0, tzinfo=UTC),
    )


def test_an_overdue_doctor_cannot_be_booked_or_found_until_the_setting_is_off(
    dr_an, monthly, admin_an, patient_dao, settings
):
    now = timezone.now()
    slots = publish_slots(dr_an, start=(now + timedelta(days=2)).replace(minute=0, second=0, microsecond=0), count=2)
    subscription_start(doctor=dr_an, plan=monthly, actor=admin_an, now=now - timedelta(days=40))
    window = {"doctor": dr_an, "start": now, "end": now + timedelta(days=7)}
    assert free_slots(**window).count() == 2
    assert dr_an.pk in [d.pk for d in doctor_search().doctors]

    subscriptions_sweep(now=now)  # the renewal date passed unpaid

    assert free_slots(**window).count() == 0
    assert dr_an.pk not in [d.pk for d in doctor_search().doctors]
    with pytest.raises(PolicyViolation) as refused:
        appointment_book(slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    assert refused.value.code == "subscription_overdue"

    settings.SUBSCRIPTION_OVERDUE_BLOCKS_BOOKING = False
    assert free_slots(**window).count() == 2
    booked = appointment_book(slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    assert booked.status == "pending_payment"


def test_doctors_without_a_subscription_stay_bookable(dr_an, patient_dao):
    now = timezone.now()
    slots = publish_slots(dr_an, start=(now + timedelta(days=2)).replace(minute=0, second=0, microsecond=0), count=1)
    booked = appointment_book(slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    assert booked.status == "pending_payment"


def test_the_subscription_check_adds_no_query_to_listings(dr_an, dr_bao, monthly, admin_an, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    for doctor in (dr_an, dr_bao):
        publish_slots(doctor, start=(now + timedelta(days=2)).replace(minute=0, second=0, microsecond=0), count=1)
    subscription_start(doctor=dr_bao, plan=monthly, actor=admin_an, now=now - timedelta(days=40))
    subscriptions_sweep(now=now)

    def run():
        with CaptureQueriesContext(connection) as captured:
            page = doctor_search(now=now)
            list(free_slots(doctor=dr_bao, start=now, end=now + timedelta(days=7), now=now))
        return len(captured.captured_queries), [d.pk for d in page.doctors]

    run()  # warm up what is cached per process (content types, translations)
    settings.SUBSCRIPTION_OVERDUE_BLOCKS_BOOKING = False
    queries_off, listed_off = run()
    settings.SUBSCRIPTION_OVERDUE_BLOCKS_BOOKING = True
    queries_on, listed_on = run()
    assert queries_on == queries_off
    assert sorted(listed_off) == sorted([dr_an.pk, dr_bao.pk]) and listed_on == [dr_an.pk]


def test_subscriptions_in_the_admin_record_payments_and_cancel(client, dr_an, monthly, admin_an, staff_binh):
    client.force_login(admin_an)
    response = client.post(
        "/admin/clinic/doctorsubscription/add/", {"doctor": dr_an.pk, "plan": monthly.pk, "paid": "on"}
    )
    assert response.status_code == 302
    subscription = DoctorSubscription.objects.get()
    url = f"/admin/clinic/doctorsubscription/{subscription.pk}/"
    page = client.get(url + "change/").content.decode()
    assert "record_payment_detail" in page and "resume_detail" not in page
    client.post(url + "record_payment_detail/", {"_form_submitted": "on", "amount": "1000000", "reference": "CK-7"})
    assert DoctorSubscription.objects.get().credit == Decimal("1000000")
    client.post(url + "cancel_detail/", {"_form_submitted": "on"})
    assert DoctorSubscription.objects.get().status == SubscriptionStatus.CANCELLED
    assert events(subscription) == ["started", "payment_recorded", "cancelled"]
    client.force_login(staff_binh)
    assert client.get(url + "change/").status_code == 403
