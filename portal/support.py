"""Patients' support tickets in the portal (/portal/support/): open, read, reply, resolve. Views parse
input, call the back office's ticket services (workflows.clinic), render."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.adapter import home_url_for
from core.errors import DomainError
from workflows.clinic import services as svc
from workflows.clinic.models import TicketStatus
from workflows.clinic.selectors import ticket_for_patient, tickets_for_patient

# --- support tickets in the portal ----------------------------------------------------------------


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


class TicketForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Your message"), widget=forms.Textarea(attrs={"rows": 6}), max_length=5000
    )


class ReplyForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Your reply"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)


@patient_required
def support_list(request):
    return render(
        request, "portal/support_list.html", {"tickets": list(tickets_for_patient(patient=request.user)[:100])}
    )


@patient_required
@require_http_methods(["GET", "POST"])
def support_new(request):
    form = TicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = svc.ticket_open(
                patient=request.user, subject=form.cleaned_data["subject"], body=form.cleaned_data["body"]
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your question is with the clinic. We will answer by email and here."))
            return redirect(reverse("portal:support_detail", args=[ticket.public_id]))
    return render(request, "portal/support_new.html", {"form": form})


def _own_ticket(request, public_id):
    ticket = ticket_for_patient(patient=request.user, public_id=public_id)
    if ticket is None:
        raise Http404  # another patient's ticket answers exactly like a missing one
    return ticket


@patient_required
@require_http_methods(["GET", "POST"])
def support_detail(request, public_id):
    ticket = _own_ticket(request, public_id)
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            svc.ticket_reply(ticket=ticket, author=request.user, body=form.cleaned_data["body"])
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Sent."))
            return redirect(reverse("portal:support_detail", args=[ticket.public_id]))
    return render(
        request,
        "portal/support_detail.html",
        {"ticket": ticket, "form": form, "can_resolve": ticket.status != TicketStatus.RESOLVED},
    )


@patient_required
@require_POST
def support_resolve(request, public_id):
    ticket = _own_ticket(request, public_id)
    try:
        svc.ticket_resolve(ticket=ticket, actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Marked as resolved. Write again any time to reopen it."))
    return redirect(reverse("portal:support_detail", args=[ticket.public_id]))
