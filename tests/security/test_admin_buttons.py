"""No state change on GET: every admin URL beyond Django's standard model views is listed here with
a way to reach it in a state where it may act, and proven to

- change nothing on GET, also with a foreign Referer and as an htmx request;
- refuse a POST without the CSRF token (403, nothing changed);
- do its work on a POST with the token (for the URLs that change data).

The URLs are discovered from the registered admins, so a new button or admin page that is not in
``CASES`` fails ``test_every_admin_action_url_is_covered`` until it is proven here too.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import User
from booking import services as booking_services
from booking.models import Appointment, AppointmentStatus, Availability
from core.models import AuditLog
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import make_user, publish_slots
from tests.workflows.clinic.conftest import appointment as appointment_row
from workflows.clinic import services as clinic
from workflows.clinic.models import (
    ApplicationStatus,
    DoctorApplication,
    DoctorSubscription,
    SubscriptionCharge,
    SubscriptionPlan,
    SubscriptionStatus,
    SupportTicket,
    TicketStatus,
)
from workflows.messaging.models import Conversation

S = AppointmentStatus
FOREIGN = "https://attacker.example/page"
STANDARD_VIEWS = ("changelist", "add", "change", "delete", "history")
# Rows a GET may legitimately write: sessions (login, messages), allauth's session index (last seen),
# and the audit log (reading a medical record or printing a schedule is itself audited).
NOT_STATE = {"sessions.session", "usersessions.usersession", "core.auditlog"}


def discovered_urls() -> dict[str, Any]:
    """Every named URL a registered admin adds beyond Django's standard views, with its view."""
    found = {}
    for model, model_admin in admin.site._registry.items():
        standard = {f"{model._meta.app_label}_{model._meta.model_name}_{view}" for view in STANDARD_VIEWS}
        for pattern in model_admin.get_urls():
            if pattern.name and pattern.name not in standard:
                found[pattern.name] = pattern.callback
    return found


def snapshot() -> dict[str, list]:
    """Every row of every table the project and its packages own (minus NOT_STATE)."""
    state = {}
    for model in apps.get_models():
        opts = model._meta
        if opts.proxy or not opts.managed or opts.label_lower in NOT_STATE:
            continue
        state[opts.label_lower] = sorted(map(repr, model._base_manager.order_by().values_list()))
    return state


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


@dataclass
class Case:
    """How to reach one URL: who, where, and (for URLs that act) what to post and what must follow."""

    user: User
    url: str
    post: dict | None = None  # None: a page that only reads
    done: Any = None  # callable: asserts the work was done
    files: dict = field(default_factory=dict)
    acts: bool = True  # False: POST is a harmless read (e.g. an export download)


def future_slots(doctor, count=3, hours=30):
    start = (timezone.now() + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    return publish_slots(doctor, start=start, count=count)


def booked(doctor, patient, *, pay_by=None, slot=None):
    slot = slot or future_slots(doctor, count=1)[0]
    visit = booking_services.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))
    if pay_by is not None:
        booking_services.payment_mark_cash_paid(appointment=visit, actor=pay_by)
        visit.refresh_from_db()
    return visit


def status_of(visit):
    return Appointment.objects.get(pk=visit.pk).status


def appointment_url(visit, name):
    return f"/admin/booking/appointment/{visit.pk}/{name}/"


@pytest.fixture
def world(db, admin_an, staff_binh, patient_dao, settings, tmp_path):
    """A reviewing doctor, a started confirmed visit, an applicant, a subscription and a ticket."""
    settings.CLINICAL_DOCUMENTS_DIR = tmp_path / "clinical-documents"
    doctor = make_doctor("giang.doctor@clinic.test", auto_confirm=False)
    started = appointment_row(doctor, patient_dao, status=S.CONFIRMED, starts_at=timezone.now() - timedelta(minutes=10))
    plan = SubscriptionPlan.objects.create(name="Monthly", price=Decimal("100000"), period_months=1)
    other_plan = SubscriptionPlan.objects.create(name="Yearly", price=Decimal("1000000"), period_months=12)
    subscription = clinic.subscription_start(doctor=doctor, plan=plan, actor=admin_an, paid=True)
    application = clinic.doctor_application_submit(
        first_name="Hà", last_name="Vũ", email="ha.vu@example.test", phone="0909000111", licence_number="L-77"
    )
    ticket = clinic.ticket_open(patient=patient_dao, subject="Parking", body="Where do I park?")
    return {
        "admin": admin_an,
        "staff": staff_binh,
        "patient": patient_dao,
        "doctor": doctor,
        "started": started,
        "plan": plan,
        "other_plan": other_plan,
        "subscription": subscription,
        "application": application,
        "ticket": ticket,
    }


# --- one builder per URL ----------------------------------------------------------------------------


def _confirm(w):
    visit = booked(w["doctor"], w["patient"], pay_by=w["staff"])
    assert visit.status == S.PENDING
    return Case(
        w["doctor"].user,
        appointment_url(visit, "confirm_detail"),
        {},
        lambda: status_of(visit) == S.CONFIRMED,
    )


def _mark_paid(w):
    visit = booked(w["doctor"], w["patient"])
    return Case(w["staff"], appointment_url(visit, "mark_paid_detail"), {}, lambda: status_of(visit) == S.PENDING)


def _complete(w):
    return Case(
        w["doctor"].user,
        appointment_url(w["started"], "complete_detail"),
        {},
        lambda: status_of(w["started"]) == S.COMPLETED,
    )


def _no_show(w):
    return Case(
        w["staff"], appointment_url(w["started"], "no_show_detail"), {}, lambda: status_of(w["started"]) == S.NO_SHOW
    )


def _reschedule(w):
    first, second = future_slots(w["doctor"], count=2)
    visit = booked(w["doctor"], w["patient"], slot=first)
    return Case(
        w["staff"],
        appointment_url(visit, "reschedule_detail"),
        {"new_slot": second.pk},
        lambda: Appointment.objects.get(pk=visit.pk).slot_id == second.pk,
    )


def _decline(w):
    visit = booked(w["doctor"], w["patient"], pay_by=w["staff"])
    return Case(
        w["doctor"].user,
        appointment_url(visit, "decline_detail"),
        {"reason": "Not my field"},
        lambda: status_of(visit) == S.CANCELLED,
    )


def _cancel(w):
    visit = booked(w["doctor"], w["patient"])
    return Case(
        w["staff"],
        appointment_url(visit, "cancel_detail"),
        {"reason": "Doctor ill"},
        lambda: status_of(visit) == S.CANCELLED,
    )


def _force_cancel(w):
    visit = booked(w["doctor"], w["patient"], pay_by=w["staff"])
    return Case(
        w["admin"],
        appointment_url(visit, "force_cancel_detail"),
        {"reason": "Clinic closed"},
        lambda: status_of(visit) == S.CANCELLED,
    )


def _suggest_follow_up(w):
    day = (timezone.now() + timedelta(days=20)).date().isoformat()
    return Case(
        w["doctor"].user,
        appointment_url(w["started"], "suggest_follow_up_detail"),
        {"suggested_date": day, "notes": "Recheck"},
        lambda: Appointment.objects.filter(parent=w["started"]).exists(),
    )


def _book(w):
    slot = future_slots(w["doctor"], count=1)[0]
    return Case(
        w["staff"],
        "/admin/booking/appointment/book/",
        {"patient": w["patient"].pk, "slot": slot.pk, "phone": "+84 90 000 0002"},
        lambda: Appointment.objects.filter(slot=slot, patient=w["patient"]).exists(),
    )


def _series(w, count=2):
    """A series of ``count`` weekly visits of ``w["doctor"]`` for the patient, booked by the front desk."""
    from booking.models import Slot

    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    slots = [publish_slots(w["doctor"], start=start + timedelta(weeks=k), count=2)[0] for k in range(count)]
    series = booking_services.series_book(
        doctor=w["doctor"], patient=w["patient"], actor=w["staff"], slots=slots, details=details_for(w["patient"])
    )
    free = list(Slot.objects.filter(doctor=w["doctor"], status="free", start__gt=start).order_by("start"))
    return series, free


def _series_move_following(w):
    series, free = _series(w)
    first = series.visits.order_by("starts_at").first()
    return Case(
        w["staff"],
        appointment_url(first, "series_move_following_detail"),
        {"new_slot": free[0].pk},
        lambda: Appointment.objects.get(pk=first.pk).slot_id == free[0].pk,
    )


def _series_cancel_following(w):
    series, _free = _series(w)
    first = series.visits.order_by("starts_at").first()
    return Case(
        w["staff"],
        appointment_url(first, "series_cancel_following_detail"),
        {"reason": "Treatment ended"},
        lambda: not series.visits.filter(status__in=["confirmed"]).exists(),
    )


def _book_series(w):
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    slots = [publish_slots(w["doctor"], start=start + timedelta(weeks=k), count=1)[0] for k in range(2)]
    profile = w["patient"].patient_profile
    profile.phone = "0912345678"
    profile.save(update_fields=["phone"])
    local = start.astimezone(w["doctor"].zone)
    return Case(
        w["staff"],
        "/admin/booking/appointmentseries/book/",
        {
            "patient": w["patient"].pk,
            "doctor": w["doctor"].pk,
            "first_date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "count": 2,
            "interval_weeks": 1,
            "visit_1": slots[0].pk,
            "visit_2": slots[1].pk,
            "step": "book",
        },
        lambda: Appointment.objects.filter(slot__in=slots, series__isnull=False).count() == 2,
    )


def _register_patient(w):
    return Case(
        w["staff"],
        "/admin/accounts/patientprofile/register/",
        {"first_name": "Lan", "last_name": "Phạm", "phone": "0977 123 456", "national_id": "079190000777"},
        lambda: User.objects.filter(patient_profile__national_id="079190000777").exists(),
    )


def _deactivate(w):
    profile = w["patient"].patient_profile
    return Case(
        w["admin"],
        f"/admin/accounts/patientprofile/{profile.pk}/deactivate_patient/",
        {"confirm": "on"},
        lambda: not User.objects.get(pk=w["patient"].pk).is_active,
    )


def _reactivate(w):
    accounts_services.patient_deactivate(user=w["patient"], actor=w["admin"])
    profile = w["patient"].patient_profile
    return Case(
        w["admin"],
        f"/admin/accounts/patientprofile/{profile.pk}/reactivate_patient/",
        {},
        lambda: User.objects.get(pk=w["patient"].pk).is_active,
    )


def _application_state(w):
    return DoctorApplication.objects.get(pk=w["application"].pk).status


def _approve(w):
    return Case(
        w["admin"],
        f"/admin/clinic/doctorapplication/{w['application'].pk}/approve_detail/",
        {},
        lambda: _application_state(w) == ApplicationStatus.APPROVED,
    )


def _reject(w):
    return Case(
        w["admin"],
        f"/admin/clinic/doctorapplication/{w['application'].pk}/reject_detail/",
        {"reason": "Licence not found"},
        lambda: _application_state(w) == ApplicationStatus.REJECTED,
    )


def _resend_invitation(w):
    clinic.doctor_application_approve(application=w["application"], actor=w["admin"])
    return Case(
        w["admin"],
        f"/admin/clinic/doctorapplication/{w['application'].pk}/resend_invitation_detail/",
        {},
        lambda: AuditLog.objects.filter(action="clinic.doctor_application.invitation_resent").exists(),
    )


def _subscription(w):
    return DoctorSubscription.objects.get(pk=w["subscription"].pk)


def _record_payment(w):
    return Case(
        w["admin"],
        f"/admin/clinic/doctorsubscription/{w['subscription'].pk}/record_payment_detail/",
        {"amount": "100000", "reference": "CK-1"},
        lambda: _subscription(w).credit == Decimal("100000"),
    )


def _change_plan(w):
    return Case(
        w["admin"],
        f"/admin/clinic/doctorsubscription/{w['subscription'].pk}/change_plan_detail/",
        {"plan": w["other_plan"].pk},
        lambda: _subscription(w).events.filter(kind="plan_changed").exists(),
    )


def _cancel_subscription(w):
    return Case(
        w["admin"],
        f"/admin/clinic/doctorsubscription/{w['subscription'].pk}/cancel_detail/",
        {},
        lambda: _subscription(w).status == SubscriptionStatus.CANCELLED,
    )


def _resume(w):
    clinic.subscription_cancel(subscription=w["subscription"], actor=w["admin"])
    return Case(
        w["admin"],
        f"/admin/clinic/doctorsubscription/{w['subscription'].pk}/resume_detail/",
        {},
        lambda: _subscription(w).status == SubscriptionStatus.ACTIVE,
    )


def _pay_now(w):
    return Case(
        w["doctor"].user,
        f"/admin/clinic/doctorsubscription/{w['subscription'].pk}/pay_now_detail/",
        {},
        lambda: SubscriptionCharge.objects.filter(subscription=w["subscription"], gateway="sandbox").exists(),
    )


def _subscription_sandbox_checkout(w):
    charge = clinic.subscription_checkout_start(
        subscription=w["subscription"], actor=w["doctor"].user, sandbox_page=str
    )
    return Case(
        w["doctor"].user,
        f"/admin/clinic/doctorsubscription/{w['subscription'].pk}/pay/{charge.pk}/sandbox/",
        {"action": "pay"},
        lambda: SubscriptionCharge.objects.get(pk=charge.pk).status == "succeeded",
    )


def _ticket(w):
    return SupportTicket.objects.get(pk=w["ticket"].pk)


def _reply(w):
    return Case(
        w["staff"],
        f"/admin/clinic/supportticket/{w['ticket'].pk}/reply_detail/",
        {"body": "Behind the building."},
        lambda: _ticket(w).messages.filter(body="Behind the building.").exists(),
    )


def _resolve(w):
    return Case(
        w["staff"],
        f"/admin/clinic/supportticket/{w['ticket'].pk}/resolve_detail/",
        {},
        lambda: _ticket(w).status == TicketStatus.RESOLVED,
    )


def _reopen(w):
    clinic.ticket_resolve(ticket=w["ticket"], actor=w["staff"])
    return Case(
        w["staff"],
        f"/admin/clinic/supportticket/{w['ticket'].pk}/reopen_detail/",
        {},
        lambda: _ticket(w).status == TicketStatus.OPEN,
    )


def _generate(w):
    start = timezone.localdate() + timedelta(days=40)
    return Case(
        w["staff"],
        "/admin/booking/availability/generate/",
        {
            "doctor": w["doctor"].pk,
            "weekdays": [start.weekday()],
            "start_time": "09:00",
            "end_time": "10:00",
            "slot_minutes": 30,
            "date_from": start.isoformat(),
            "date_to": start.isoformat(),
        },
        lambda: Availability.objects.filter(doctor=w["doctor"], date=start).exists(),
    )


def _conversation_start(w):
    return Case(
        w["staff"],
        "/admin/messaging/conversation/start/",
        {"patient_email": w["patient"].email},
        lambda: Conversation.objects.filter(patient=w["patient"]).exists(),
    )


def _support_conversation(w):
    from workflows.messaging.services import conversation_open_support

    return conversation_open_support(patient=w["patient"], actor=w["staff"])


def _conversation_send(w):
    conversation = _support_conversation(w)
    return Case(
        w["staff"],
        f"/admin/messaging/conversation/{conversation.pk}/send/",
        {"body": "Your results are in."},
        lambda: any(m.body == "Your results are in." for m in conversation.messages.all()),  # encrypted: no SQL match
    )


def _conversation_poll(w):
    return Case(w["staff"], f"/admin/messaging/conversation/{_support_conversation(w).pk}/poll/")


def _import(w):
    upload = io.BytesIO(b"email,first_name,last_name\nmai.new@example.test,Mai,Nguyen\n")
    upload.name = "patients.csv"
    # The upload only shows the confirmation page; process_import writes (proven below).
    return Case(
        w["admin"],
        "/admin/accounts/patientprofile/import/",
        {"format": "0", "resource": "0"},
        lambda: not User.objects.filter(email="mai.new@example.test").exists(),
        files={"import_file": upload},
        acts=False,
    )


def _process_import(w):
    upload = io.BytesIO(b"email,first_name,last_name\nmai.new@example.test,Mai,Nguyen\n")
    upload.name = "patients.csv"
    uploader = Client()
    uploader.force_login(w["admin"])
    confirm = uploader.post(
        "/admin/accounts/patientprofile/import/", {"format": "0", "resource": "0", "import_file": upload}
    )
    form = confirm.context["confirm_form"]
    return Case(
        w["admin"],
        "/admin/accounts/patientprofile/process_import/",
        {name: form.initial.get(name, "") for name in form.fields},
        lambda: User.objects.filter(email="mai.new@example.test").exists(),
    )


def _feed_of(w):
    from workflows.operations.services import calendar_feed_renew

    return calendar_feed_renew(user=w["doctor"].user, actor=w["doctor"].user)


def _active_feed(w):
    from workflows.operations.selectors import active_feed

    return active_feed(w["doctor"].user)


def _feed_create(w):
    return Case(
        w["doctor"].user, "/admin/operations/calendarfeed/create-link/", {}, lambda: _active_feed(w) is not None
    )


def _feed_renew(w):
    feed = _feed_of(w)
    return Case(
        w["doctor"].user,
        f"/admin/operations/calendarfeed/{feed.pk}/renew_detail/",
        {},
        lambda: _active_feed(w) not in (None, feed),
    )


def _feed_names(w):
    feed = _feed_of(w)
    return Case(
        w["doctor"].user,
        f"/admin/operations/calendarfeed/{feed.pk}/names_detail/",
        {"with_names": "on"},
        lambda: _active_feed(w).with_names,
    )


def _feed_revoke(w):
    feed = _feed_of(w)
    return Case(
        w["doctor"].user,
        f"/admin/operations/calendarfeed/{feed.pk}/revoke_detail/",
        {},
        lambda: _active_feed(w) is None,
    )


def _rating_with_comment(w):
    from tests.booking.appointments.helpers import completed_visit
    from workflows.operations.models import VisitRating
    from workflows.operations.services import rating_invite_completed, rating_submit

    doctor = make_doctor("hoa.doctor@clinic.test")  # confirms on payment, so the visit can be completed
    visit = completed_visit(doctor, w["patient"], days_ago=1)
    rating_invite_completed()
    rating = VisitRating.objects.get(appointment=visit)
    return rating_submit(rating=rating, patient=w["patient"], score=4, comment="Kind and clear")


def _moderation_of(rating):
    from workflows.operations.models import VisitRating

    return VisitRating.objects.get(pk=rating.pk).moderation


def _rating_publish(w):
    rating = _rating_with_comment(w)
    return Case(
        w["staff"],
        f"/admin/operations/visitrating/{rating.pk}/publish_detail/",
        {},
        lambda: _moderation_of(rating) == "approved",
    )


def _rating_withhold(w):
    rating = _rating_with_comment(w)
    return Case(
        w["staff"],
        f"/admin/operations/visitrating/{rating.pk}/withhold_detail/",
        {},
        lambda: _moderation_of(rating) == "rejected",
    )


def _arrival(w):
    from tests.workflows.operations.queue_helpers import a_time_today, room_at_facility, visit_at

    return visit_at(w["doctor"], w["patient"], room=room_at_facility(), start=a_time_today())


def _checked_in(w, *steps):
    from workflows.operations import services as operations

    check_in = operations.check_in_arrive(appointment=_arrival(w), actor=w["staff"])
    for step in steps:
        check_in = step(check_in=check_in, actor=w["staff"])
    return check_in


def _queue_status(check_in):
    from workflows.operations.models import CheckIn

    return CheckIn.objects.get(pk=check_in.pk).status


def _check_in(w):
    from workflows.operations.models import CheckIn

    visit = _arrival(w)
    return Case(
        w["staff"],
        f"/admin/operations/arrival/{visit.pk}/check_in_detail/",
        {},
        lambda: CheckIn.objects.filter(appointment=visit).exists(),
    )


def _call_next(w):
    check_in = _checked_in(w)
    return Case(
        w["doctor"].user, "/admin/operations/checkin/call-next/", {}, lambda: _queue_status(check_in) == "called"
    )


def _call(w):
    check_in = _checked_in(w)
    return Case(
        w["staff"],
        f"/admin/operations/checkin/{check_in.pk}/call_detail/",
        {},
        lambda: _queue_status(check_in) == "called",
    )


def _start(w):
    from workflows.operations.services import check_in_call

    check_in = _checked_in(w, check_in_call)
    return Case(
        w["doctor"].user,
        f"/admin/operations/checkin/{check_in.pk}/start_detail/",
        {},
        lambda: _queue_status(check_in) == "in_consultation",
    )


def _finish(w):
    from workflows.operations.services import check_in_call, check_in_start

    check_in = _checked_in(w, check_in_call, check_in_start)
    return Case(
        w["doctor"].user,
        f"/admin/operations/checkin/{check_in.pk}/finish_detail/",
        {},
        lambda: _queue_status(check_in) == "done",
    )


def _board_create(w):
    from tests.factories import FacilityFactory
    from workflows.operations.models import QueueBoard

    facility = FacilityFactory()
    return Case(
        w["staff"],
        "/admin/operations/queueboard/create-board/",
        {"facility": facility.pk},
        lambda: QueueBoard.objects.filter(facility=facility).exists(),
    )


def _board_renew(w):
    from tests.factories import FacilityFactory
    from workflows.operations.models import QueueBoard
    from workflows.operations.services import queue_board_renew

    board = queue_board_renew(facility=FacilityFactory(), actor=w["staff"])
    return Case(
        w["staff"],
        f"/admin/operations/queueboard/{board.pk}/renew_detail/",
        {},
        lambda: QueueBoard.objects.get(pk=board.pk).token != board.token,
    )


def _export(url):
    def case(w):
        return Case(
            w["staff"] if "patientprofile" not in url else w["admin"],
            url,
            {"format": "0", "resource": "0"},
            lambda: True,
            acts=False,
        )

    return case


def _start_note(w):
    from workflows.clinical.models import VisitNote

    visit = w["started"]
    return Case(
        w["doctor"].user,
        f"/admin/clinical/visitnote/start/{visit.pk}/",
        {},
        lambda: VisitNote.objects.filter(appointment=visit).exists(),
    )


def _sign_note(w):
    from workflows.clinical import services as clinical
    from workflows.clinical.models import VisitNote

    visit = appointment_row(
        w["doctor"], w["patient"], status=S.COMPLETED, starts_at=timezone.now() - timedelta(hours=3)
    )
    note = clinical.visit_note_start(appointment=visit, actor=w["doctor"].user)
    clinical.visit_note_save_draft(note=note, actor=w["doctor"].user, content=clinical.NoteContent(assessment="Flu"))
    return Case(
        w["doctor"].user,
        f"/admin/clinical/visitnote/{note.pk}/sign_detail/",
        {},
        lambda: VisitNote.objects.get(pk=note.pk).status == "signed",
    )


def _prescription_pdf(w):
    case = _sign_note(w)
    case.done()  # nothing signed yet
    from workflows.clinical import services as clinical
    from workflows.clinical.models import VisitNote

    note = VisitNote.objects.get(pk=int(case.url.split("/")[-3]))
    clinical.visit_note_sign(note=note, actor=w["doctor"].user)
    return Case(w["doctor"].user, f"/admin/clinical/visitnote/{note.pk}/prescription.pdf")


def _invoice_pdf(w):
    from workflows.clinic.invoices import subscription_invoice
    from workflows.clinic.models import SubscriptionEvent

    event = SubscriptionEvent.objects.get(subscription=w["subscription"], kind="started")
    invoice = subscription_invoice(event_id=event.pk)
    return Case(w["staff"], f"/admin/booking/invoice/{invoice.pk}/pdf/")


PDF_BYTES = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n" + b" " * 200


def _document_upload(w):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from workflows.clinical.models import VisitDocument

    visit = w["started"]
    return Case(
        w["doctor"].user,
        f"/admin/clinical/visitnote/documents/upload/{visit.pk}/",
        {"title": "Lab"},
        lambda: VisitDocument.objects.filter(appointment=visit).exists(),
        files={"file": SimpleUploadedFile("lab.pdf", PDF_BYTES, content_type="application/pdf")},
    )


def _document(w):
    from workflows.clinical import services as clinical

    document = clinical.document_upload(appointment=w["started"], actor=w["doctor"].user, data=PDF_BYTES, title="Lab")
    return Case(w["doctor"].user, f"/admin/clinical/visitnote/documents/{document.pk}/")


def _webhook_replay(w):
    from workflows.integrations.models import WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        name="CRM", url="https://93.184.215.14/hook", secret="whsec_x", events=["appointment.booked"]
    )
    original = WebhookDelivery.objects.create(
        endpoint=endpoint, event="appointment.booked", payload={"type": "appointment.booked"}, status="failed"
    )
    return Case(
        w["admin"],
        f"/admin/integrations/webhookdelivery/{original.pk}/replay_detail/",
        {},
        lambda: WebhookDelivery.objects.filter(replay_of=original, replayed_by=w["admin"]).exists(),
    )


def _read(url, who="staff"):
    return lambda w: Case(w[who], url)


CASES = {
    "booking_appointment_confirm_detail": _confirm,
    "booking_appointment_mark_paid_detail": _mark_paid,
    "booking_appointment_complete_detail": _complete,
    "booking_appointment_no_show_detail": _no_show,
    "booking_appointment_reschedule_detail": _reschedule,
    "booking_appointment_decline_detail": _decline,
    "booking_appointment_cancel_detail": _cancel,
    "booking_appointment_force_cancel_detail": _force_cancel,
    "booking_appointment_suggest_follow_up_detail": _suggest_follow_up,
    "booking_appointment_book": _book,
    "booking_appointment_series_move_following_detail": _series_move_following,
    "booking_appointment_series_cancel_following_detail": _series_cancel_following,
    "booking_appointmentseries_book": _book_series,
    "accounts_patientprofile_register": _register_patient,
    "accounts_patientprofile_deactivate_patient": _deactivate,
    "accounts_patientprofile_reactivate_patient": _reactivate,
    "clinic_doctorapplication_approve_detail": _approve,
    "clinic_doctorapplication_reject_detail": _reject,
    "clinic_doctorapplication_resend_invitation_detail": _resend_invitation,
    "clinic_doctorsubscription_record_payment_detail": _record_payment,
    "clinic_doctorsubscription_change_plan_detail": _change_plan,
    "clinic_doctorsubscription_cancel_detail": _cancel_subscription,
    "clinic_doctorsubscription_resume_detail": _resume,
    "clinic_doctorsubscription_pay_now_detail": _pay_now,
    "clinic_doctorsubscription_sandbox_checkout": _subscription_sandbox_checkout,
    "clinic_supportticket_reply_detail": _reply,
    "clinic_supportticket_resolve_detail": _resolve,
    "clinic_supportticket_reopen_detail": _reopen,
    "booking_availability_generate": _generate,
    "clinical_visitnote_start": _start_note,
    "clinical_visitnote_sign_detail": _sign_note,
    "clinical_visitnote_prescription_pdf": _prescription_pdf,
    "clinical_visitnote_document_upload": _document_upload,
    "clinical_visitnote_document": _document,
    "clinical_visitnote_icd10": _read("/admin/clinical/visitnote/icd10/?q=asthma"),
    "messaging_conversation_start": _conversation_start,
    "messaging_conversation_send": _conversation_send,
    "integrations_webhookdelivery_replay_detail": _webhook_replay,
    "operations_calendarfeed_create_link": _feed_create,
    "operations_calendarfeed_renew_detail": _feed_renew,
    "operations_calendarfeed_names_detail": _feed_names,
    "operations_calendarfeed_revoke_detail": _feed_revoke,
    "operations_visitrating_publish_detail": _rating_publish,
    "operations_visitrating_withhold_detail": _rating_withhold,
    "operations_arrival_check_in_detail": _check_in,
    "operations_checkin_call_next": _call_next,
    "operations_checkin_call_detail": _call,
    "operations_checkin_start_detail": _start,
    "operations_checkin_finish_detail": _finish,
    "operations_queueboard_create_board": _board_create,
    "operations_queueboard_renew_detail": _board_renew,
    "accounts_patientprofile_import": _import,
    "accounts_patientprofile_process_import": _process_import,
    "accounts_patientprofile_export": _export("/admin/accounts/patientprofile/export/"),
    "booking_doctor_export": _export("/admin/booking/doctor/export/"),
    "booking_payment_export": _export("/admin/booking/payment/export/"),
    "booking_appointment_export": _export("/admin/booking/appointment/export/"),
    # pages and links that only read (or redirect to a page that reads)
    "booking_availability_week": _read("/admin/booking/availability/week/"),
    "booking_availability_open_week_view": _read("/admin/booking/availability/open-week-view/"),
    "booking_availability_open_weekly_generator": _read("/admin/booking/availability/open-weekly-generator/"),
    "booking_invoice_pdf": _invoice_pdf,
    "booking_appointment_day_schedule_pdf": _read("/admin/booking/appointment/day-schedule.pdf"),
    "booking_appointment_book_patients": _read("/admin/booking/appointment/book/patients/?q=Nguyen"),
    "booking_exports": _read("/admin/booking/appointment/exports/"),
    "messaging_conversation_start_conversation": _read("/admin/messaging/conversation/start-conversation/"),
    "messaging_conversation_poll": _conversation_poll,
}


def test_every_admin_action_url_is_covered():
    assert set(discovered_urls()) == set(CASES)


def test_every_detail_button_asks_first():
    """Unfold detail/row buttons are all ``core.admin_actions.button`` (confirmation + POST)."""
    for model_admin in admin.site._registry.values():
        for unfold_action in [*model_admin._get_base_actions_detail(), *model_admin._get_base_actions_row()]:
            assert getattr(unfold_action.method, "changes_data", False), unfold_action.action_name
            assert unfold_action.dialog, unfold_action.action_name


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize("name", sorted(CASES))
def test_get_changes_nothing_and_only_a_csrf_checked_post_acts(name, world):
    case = CASES[name](world)
    client = csrf_client(case.user)
    before = snapshot()
    for headers in ({"HTTP_REFERER": FOREIGN}, {"HTTP_REFERER": FOREIGN, "HTTP_HX_REQUEST": "true"}, {}):
        response = client.get(case.url, **headers)
        assert response.status_code in {200, 302, 405}, (name, response.status_code)
    assert changed_tables(before, snapshot()) == [], name
    if case.post is None:
        return

    data = {"_form_submitted": "on", **case.post}
    refused = client.post(case.url, {**data, **case.files}, HTTP_REFERER=FOREIGN)
    assert refused.status_code == 403, name
    assert changed_tables(before, snapshot()) == [], name
    for upload in case.files.values():
        upload.seek(0)

    if "csrftoken" not in client.cookies:
        client.get("/admin/")  # a POST-only URL: the token comes from any admin page
    token = client.cookies["csrftoken"].value
    response = client.post(case.url, {**data, **case.files, "csrfmiddlewaretoken": token})
    assert response.status_code in {200, 201, 302}, (name, response.status_code)
    assert case.done(), name
    if case.acts:
        assert changed_tables(before, snapshot()) != [], name


def test_a_button_opened_directly_is_a_confirmation_page_in_words(world):
    """Destructive buttons say what will happen and to whom, in the admin's look; nothing happened."""
    visit = world["started"]
    client = csrf_client(world["staff"])
    page = client.get(appointment_url(visit, "no_show_detail"))
    html = page.content.decode()
    assert page.status_code == 200 and 'id="action-confirmation"' in html
    assert visit.patient_name in html and "no-show" in html and "cannot be undone" in html
    assert 'name="csrfmiddlewaretoken"' in html and 'method="post"' in html
    assert "unfold/css/styles.css" in html  # the admin's own page, not a bare fragment
    assert status_of(visit) == S.CONFIRMED


def test_the_htmx_dialog_posts_and_sends_the_page_to_the_result(world):
    visit = world["started"]
    client = csrf_client(world["staff"])
    dialog = client.get(appointment_url(visit, "no_show_detail"), HTTP_HX_REQUEST="true")
    assert 'id="dialog"' in dialog.content.decode() and "action-confirmation" not in dialog.content.decode()
    response = client.post(
        appointment_url(visit, "no_show_detail"),
        {"_form_submitted": "on", "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/admin/booking/appointment/{visit.pk}/change/"
    assert status_of(visit) == S.NO_SHOW


def test_the_confirmation_page_shows_form_errors_and_acts_on_nothing(world):
    visit = booked(world["doctor"], world["patient"])
    client = csrf_client(world["staff"])
    client.get(appointment_url(visit, "cancel_detail"))
    response = client.post(
        appointment_url(visit, "cancel_detail"),
        {"_form_submitted": "on", "reason": "", "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )
    assert response.status_code == 200 and 'id="action-confirmation"' in response.content.decode()
    assert status_of(visit) == S.PENDING_PAYMENT


def test_the_vietnamese_confirmation_is_translated(world):
    world["staff"].language = "vi"
    world["staff"].save(update_fields=["language"])
    client = csrf_client(world["staff"])
    html = client.get(appointment_url(world["started"], "no_show_detail")).content.decode()
    assert "không thể hoàn tác" in html


def test_patients_are_not_let_into_action_urls(world):
    patient = make_user("lan.patient@example.test", "patient")
    client = csrf_client(patient)
    response = client.get(appointment_url(world["started"], "no_show_detail"))
    assert response.status_code == 302 and status_of(world["started"]) == S.CONFIRMED
