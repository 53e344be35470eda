"""The patient's own pages: start page, appointments (pay, cancel, reschedule, receipt, calendar file)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.adapter import home_url_for
from accounts.services import user_set_preferences
from booking import rules
from booking import services as svc
from booking.invoice_pdf import invoice_pdf
from booking.models import OPEN_STATUSES, Appointment, AppointmentStatus, BookingDefaults, Slot
from booking.payments import enabled_gateways, get_gateway
from booking.rules import Action
from booking.selectors.invoices import visit_invoices
from core.dates import canonical_zone
from core.errors import DomainError
from portal.clinical import (
    document_download,
    document_upload,
    intake_for,
    intake_submit,
    prescription_download,
    visit_documents_for,
    visit_records_present,
    visit_summary_for,
)
from portal.forms import ReasonForm, VoucherForm
from portal.picker import build_picker, offered_alternatives, parse_day, policy_text, slot_is_free, when_text
from workflows.ics import appointment_calendar as build_calendar
from workflows.operations.qr import booking_qr_svg
from workflows.operations.selectors import (
    check_in_of,
    patient_waitlist,
    rating_of_visit,
    ratings_to_give,
)

S = AppointmentStatus


def patient_required(view):
    """Logged-in patients only; clinic accounts go to their workspace."""

    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.is_patient:
            return redirect(home_url_for(request.user))
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _appointments(request, visible=None):
    # the rulebook's: the patient's own visits and those of the family members they manage (``visible``:
    # that Q when the view already has it, for a second list on one page without reading the family again)
    if visible is None:
        visible = rules.visibility_q(user=request.user)
    return Appointment.objects.filter(visible).select_related("doctor__user", "appointment_type", "patient")


def _own(request, public_id) -> Appointment:
    # another patient's appointment answers 404, exactly like a missing one. Who may see it is the
    # rulebook's row check (role_in: the patient, or the account holder of a dependant patient), the same
    # rule as visibility_q without its query for the family's ids
    try:
        appointment = Appointment.objects.select_related(
            "doctor__user", "appointment_type", "patient", "slot__availability__facility", "slot__availability__room"
        ).get(public_id=public_id)  # unique: get() asks for no ordering, unlike first()
    except Appointment.DoesNotExist:
        appointment = None
    if appointment is None or rules.role_in(appointment=appointment, user=request.user) != "patient":
        raise Http404("No Appointment matches the given query.")
    return appointment


def video_window_open(appointment: Appointment, now: dt.datetime) -> bool:
    """Whether to offer "Join video" (booking.rules; the video page explains anything else, such as
    video not being configured)."""
    return rules.refusal(Action.JOIN_VIDEO, appointment=appointment, user=appointment.patient, now=now) is None


def doctor_directory(request):
    """The portal has no doctor list of its own: the public site's directory is the one way to find a
    doctor (``find_a_doctor`` leads to it, with the search kept)."""
    url = reverse("find_a_doctor")
    query = request.GET.urlencode()
    return redirect(f"{url}?{query}" if query else url)


@patient_required
def home(request):
    now = timezone.now()
    visible = rules.visibility_q(user=request.user)
    upcoming = list(
        _appointments(request, visible)
        .filter(status__in=OPEN_STATUSES, starts_at__gte=now - dt.timedelta(hours=1))
        .order_by("starts_at")[:5]
    )
    for appointment in upcoming:
        appointment.can_join = video_window_open(appointment, now)
    follow_ups = _appointments(request, visible).filter(status=S.PENDING_PATIENT_CONFIRMATION).count()
    context = {
        "upcoming": upcoming,
        "follow_up_count": follow_ups,
        "to_rate": ratings_to_give(request.user, now=now, visible=visible)[:3],
        "waitlist": patient_waitlist(request.user),
    }
    return render(request, "portal/home.html", context)


@patient_required
def appointment_list(request):
    now = timezone.now()
    rows = list(
        _appointments(request).exclude(status=S.PENDING_PATIENT_CONFIRMATION).order_by("-starts_at", "-id")[:300]
    )
    upcoming = sorted(
        (a for a in rows if a.status in OPEN_STATUSES and a.ends_at and a.ends_at >= now), key=lambda a: a.starts_at
    )
    past = [a for a in rows if a not in upcoming]
    defaults = BookingDefaults.load()
    for appointment in upcoming:
        appointment.can_join = video_window_open(appointment, now)
        appointment.changes = appointment_changes(appointment, user=request.user, now=now, defaults=defaults)
    return render(request, "portal/appointment_list.html", {"upcoming": upcoming, "past": past})


def _refusal_text(action, appointment, user, now, actions, policy=None) -> str:
    """Why a button is disabled, for open visits only (closed ones show no change buttons at all)."""
    if action in actions or appointment.status not in OPEN_STATUSES:
        return ""
    problem = rules.refusal(action, appointment=appointment, user=user, now=now, policy=policy)
    return str(problem) if problem is not None else ""


def appointment_changes(appointment: Appointment, *, user, now: dt.datetime, defaults=None) -> dict:
    """Reschedule and Cancel for ``portal/includes/change_actions.html``: allowed, or the rulebook's
    reason they are not, and the change rules in words while a free change is still possible."""
    if appointment.status not in OPEN_STATUSES or appointment.starts_at is None:
        return {"show": False}
    policy = appointment.doctor.policy(defaults)
    actions = rules.available_actions(appointment=appointment, user=user, now=now, policy=policy)
    reschedule_refusal = _refusal_text(Action.RESCHEDULE, appointment, user, now, actions, policy)
    cancel_refusal = _refusal_text(Action.CANCEL, appointment, user, now, actions, policy)
    started = appointment.has_started(now)
    return {
        "show": True,
        "can_reschedule": Action.RESCHEDULE in actions,
        "can_cancel": Action.CANCEL in actions,
        "reschedule_refusal": reschedule_refusal,
        "cancel_refusal": cancel_refusal,
        "hints": list(dict.fromkeys(text for text in (reschedule_refusal, cancel_refusal) if text)),
        "policy": None
        if started
        else policy_text(starts_at=appointment.starts_at, now=now, doctor=appointment.doctor, defaults=defaults),
    }


@patient_required
def appointment_detail(request, public_id):
    appointment = _own(request, public_id)
    now = timezone.now()
    gateways = [(name, get_gateway(name).label) for name in enabled_gateways()]
    actions = rules.available_actions(appointment=appointment, user=request.user, now=now)
    can_pay = Action.PAY in actions
    records = visit_records_present(appointment)  # one query; only the records that exist are read
    return render(
        request,
        "portal/appointment_detail.html",
        {
            "appointment": appointment,
            "can_pay": can_pay,
            "seconds_left": int((appointment.hold_expires_at - now).total_seconds()) if can_pay else 0,
            "gateways": gateways,
            "payments": list(appointment.payments.all()),
            "voucher_form": VoucherForm() if can_pay and not appointment.voucher_id else None,
            "can_join": video_window_open(appointment, now),
            "can_message": Action.MESSAGE in actions,
            "changes": appointment_changes(appointment, user=request.user, now=now),
            "clinic_zone": ZoneInfo(settings.CLINIC_TIME_ZONE),
            "rating": rating_of_visit(appointment=appointment, user=request.user) if records.rating else None,
            "visit_summary": visit_summary_for(request, appointment, present=records.signed_note),
            "visit_documents": visit_documents_for(request, appointment, present=records.documents),
            "intake": intake_for(request, appointment, records=records),
            "check_in": check_in_of(appointment) if records.check_in else None,
            "check_in_qr": booking_qr_svg(
                appointment.booking_code,
                label=_("QR code of booking code %(code)s") % {"code": appointment.booking_code},
            )
            if rules.expects_check_in(appointment, now=now)
            else None,
        },
    )


@patient_required
@require_POST
def appointment_pay(request, public_id):
    appointment = _own(request, public_id)
    detail_url = reverse("portal:appointment_detail", kwargs={"public_id": public_id})
    try:
        payment = svc.payment_start(
            appointment=appointment,
            gateway=request.POST.get("gateway", ""),
            actor=request.user,
            success_url=request.build_absolute_uri(detail_url),
            cancel_url=request.build_absolute_uri(detail_url),
        )
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect(detail_url)
    if payment.checkout_url:
        return redirect(payment.checkout_url)
    messages.success(request, _("Please pay at the clinic's front desk when you arrive."))
    return redirect(detail_url)


@patient_required
@require_POST
def appointment_voucher(request, public_id):
    appointment = _own(request, public_id)
    form = VoucherForm(request.POST)
    if form.is_valid():
        try:
            svc.appointment_apply_voucher(appointment=appointment, code=form.cleaned_data["code"], actor=request.user)
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Voucher applied."))
    return redirect("portal:appointment_detail", public_id=public_id)


@patient_required
@require_http_methods(["GET", "POST"])
def appointment_cancel(request, public_id):
    """Shows the policy (and whether cancelling now is late) before the patient confirms."""
    appointment = _own(request, public_id)
    now = timezone.now()
    if appointment.status not in OPEN_STATUSES:
        messages.info(
            request, _("This appointment is already %(status)s.") % {"status": appointment.get_status_display()}
        )
        return redirect("portal:appointment_detail", public_id=public_id)
    terms = svc.cancellation_terms(appointment=appointment, now=now)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            svc.appointment_cancel(appointment=appointment, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Your appointment is cancelled."))
        return redirect("portal:appointment_detail", public_id=public_id)
    return render(
        request,
        "portal/appointment_cancel.html",
        {
            "appointment": appointment,
            "terms": terms,
            "deadline_text": when_text(terms["deadline"]) if terms["deadline"] else "",
            "form": form,
        },
    )


@patient_required
@require_http_methods(["GET", "POST"])
def appointment_reschedule(request, public_id):
    """Pick the new time in the picker (``?slot=``), see "from → to" with the new time's change
    rules, then confirm (POST). Refused times (too late, closed visit) go back with the reason."""
    appointment = _own(request, public_id)
    now = timezone.now()
    refusal = rules.refusal(Action.RESCHEDULE, appointment=appointment, user=request.user, now=now)
    if refusal is not None:
        messages.error(request, str(refusal))
        return redirect("portal:appointment_detail", public_id=public_id)
    defaults = BookingDefaults.load()
    candidates = Slot.objects.select_related("availability__facility", "availability__room", "doctor").filter(
        doctor_id=appointment.doctor_id
    )
    value = request.POST.get("slot") if request.method == "POST" else request.GET.get("slot")
    chosen = candidates.exclude(pk=appointment.slot_id).filter(pk=value).first() if (value or "").isdigit() else None
    taken, alternatives = None, []  # a time someone else got between the pick and the confirmation
    if request.method == "POST":
        if chosen is None:
            messages.error(request, _("Please pick a new time."))
        else:
            try:
                svc.appointment_reschedule(appointment=appointment, new_slot=chosen, actor=request.user)
            except svc.SlotTaken as exc:
                taken, chosen = chosen, None
                alternatives = offered_alternatives(exc, doctor=appointment.doctor)
            except DomainError as exc:
                messages.error(request, str(exc))
                chosen = None
            else:
                messages.success(request, _("Your appointment has been moved."))
                return redirect("portal:appointment_detail", public_id=public_id)
    elif chosen is not None and not slot_is_free(chosen, now=now, defaults=defaults):
        messages.warning(request, _("That time is no longer available. Please pick another one."))
        chosen = None
    focus = parse_day(request.GET.get("day"))
    if taken is not None:  # the picker opens on the lost time's week, beside the offered times
        focus = timezone.localtime(taken.start).date()
    picker = build_picker(doctor=appointment.doctor, now=now, selected=chosen, focus=focus, defaults=defaults)
    return render(
        request,
        "portal/appointment_reschedule.html",
        {
            "appointment": appointment,
            "picker": picker,
            "chosen": chosen,
            "from_text": when_text(appointment.starts_at),
            "to_text": when_text(chosen.start) if chosen else "",
            "taken": taken,
            "taken_text": when_text(taken.start) if taken is not None else "",
            "alternatives": alternatives,
            "policy": policy_text(starts_at=chosen.start, now=now, doctor=appointment.doctor, defaults=defaults)
            if chosen
            else None,
        },
    )


@patient_required
def appointment_receipt(request, public_id):
    appointment = _own(request, public_id)
    payments = list(appointment.payments.prefetch_related("refunds"))
    if not any(p.status in {"succeeded", "refunded"} for p in payments):
        messages.info(request, _("There is no payment to show a receipt for yet."))
        return redirect("portal:appointment_detail", public_id=public_id)
    invoices = visit_invoices(appointment=appointment, user=request.user)
    return render(
        request, "portal/receipt.html", {"appointment": appointment, "payments": payments, "invoices": invoices}
    )


@patient_required
def appointment_invoice(request, public_id, number):
    """An invoice or credit note of the patient's own visit as a PDF (another person's answers 404)."""
    invoice = get_object_or_404(visit_invoices(appointment=_own(request, public_id), user=request.user), number=number)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.filename}"'
    return response


@patient_required
def appointment_prescription(request, public_id):
    """The signed prescription of the patient's own visit as a PDF (404 until the doctor signed)."""
    return prescription_download(request, _own(request, public_id))


@patient_required
@require_POST
def appointment_document_upload(request, public_id):
    """The patient attaches a document (results, referral, photo) to their visit."""
    return document_upload(request, _own(request, public_id))


@patient_required
@require_POST
def appointment_intake(request, public_id):
    """The patient's intake (reason, symptoms, current medicines) for the doctor's note."""
    return intake_submit(request, _own(request, public_id))


@patient_required
def appointment_document(request, public_id, document_id):
    return document_download(request, _own(request, public_id), document_id)


@patient_required
def appointment_calendar(request, public_id):
    """The appointment as an .ics file for the patient's own calendar."""

    appointment = _own(request, public_id)
    if appointment.starts_at is None:
        return redirect("portal:appointment_detail", public_id=public_id)
    response = HttpResponse(build_calendar(appointment), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="medbook-{appointment.pk}.ics"'
    return response


@login_required
@require_POST
def set_time_zone(request):
    """The browser reports its time zone once; it becomes the profile's zone if none was chosen."""
    name = request.POST.get("time_zone", "")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return JsonResponse({"ok": False}, status=400)
    if not request.user.time_zone:
        # browsers may report an old alias (Asia/Saigon): store the one name the pickers offer
        user_set_preferences(user=request.user, time_zone=canonical_zone(name))
    return JsonResponse({"ok": True, "time_zone": request.user.effective_time_zone})
