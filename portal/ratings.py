"""Rating a completed visit (the patient was invited by email and in the app)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import DomainError
from portal.forms import RatingForm
from portal.views import patient_required
from workflows.operations.selectors import rating_for_patient
from workflows.operations.services import rating_refusal, rating_submit


@patient_required
@require_http_methods(["GET", "POST"])
def appointment_rate(request, public_id):
    rating = rating_for_patient(patient=request.user, public_id=public_id)
    if rating is None:  # not invited, or another patient's visit: both look like nothing
        raise Http404
    refusal = rating_refusal(rating, user=request.user, now=timezone.now())
    form = RatingForm(request.POST or None) if refusal is None else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            rating_submit(
                rating=rating,
                patient=request.user,
                score=form.cleaned_data["score"],
                comment=form.cleaned_data["comment"],
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect("portal:appointment_detail", public_id=public_id)
    return render(request, "portal/appointment_rate.html", {"rating": rating, "form": form, "refusal": refusal})
