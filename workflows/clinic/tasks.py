"""django-q2 tasks of the clinic back office. Each takes primary keys (or nothing), re-reads what it
needs under lock and is idempotent."""

from __future__ import annotations

import logging
from datetime import datetime

from allauth.account import app_settings as account_settings
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from workflows.clinic.models import ApplicationStatus, DoctorApplication
from workflows.clinic.selectors import subscriptions_due
from workflows.clinic.services import subscription_process_due

logger = logging.getLogger(__name__)


def subscriptions_sweep(now: datetime | None = None) -> dict[str, int]:
    """Periodic: renew subscriptions whose renewal date came (from recorded payments, or for free on
    a free plan) or mark them overdue. Each row is re-checked under lock by the service."""
    now = now or timezone.now()
    outcome: dict[str, int] = {}
    for pk in subscriptions_due(now=now):
        result = subscription_process_due(subscription_id=pk, now=now)
        outcome[result] = outcome.get(result, 0) + 1
    return outcome


def password_setup_path(user) -> str:
    """A one-time link to set a first password, through allauth's password reset (it stops working once
    a password is set or after PASSWORD_RESET_TIMEOUT)."""
    token = account_settings.PASSWORD_RESET_TOKEN_GENERATOR().make_token(user)
    return reverse("account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(user), "key": token})


def send_application_email(application_id: int) -> str:
    """Tell an applicant the decision: an approved doctor gets the invitation to set a password, a
    rejected applicant the reason. Sent once per decision (resending clears ``invitation_sent_at``)."""
    with transaction.atomic():
        application = (
            DoctorApplication.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=application_id)
            .first()
        )
        if application is None:
            return "missing"
        if application.status == ApplicationStatus.APPROVED:
            if application.invitation_sent_at is not None or application.user is None:
                return "already sent"
            kind = "invitation"
            context = {"setup_url": settings.SITE_URL + password_setup_path(application.user)}
            application.invitation_sent_at = timezone.now()
            field = "invitation_sent_at"
        elif application.status == ApplicationStatus.REJECTED:
            if application.decision_emailed_at is not None:
                return "already sent"
            kind = "rejection"
            context = {"reason": application.rejection_reason}
            application.decision_emailed_at = timezone.now()
            field = "decision_emailed_at"
        else:
            return "undecided"
        context.update(
            name=application.first_name or application.full_name,
            site_url=settings.SITE_URL,
            login_url=settings.SITE_URL + reverse("account_login"),
            email=application.email,
        )
        language = (application.user.language if application.user else "") or settings.LANGUAGE_CODE
        with translation.override(language):
            subject = render_to_string(f"clinic/emails/application_{kind}.subject.txt", context).strip()
            text = render_to_string(f"clinic/emails/application_{kind}.txt", context)
            html = render_to_string(f"clinic/emails/application_{kind}.html", context)
        # Mark first, send inside the transaction: a failed send rolls the mark back and the task retries.
        application.save(update_fields=[field])
        email = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text, to=[application.email])
        email.attach_alternative(html, "text/html")
        email.send()
    return f"{kind} sent"


def send_application_duplicate_notice(email: str, reason: str) -> str:
    """Tell the owner of ``email`` that a doctor application for it was not recorded, and why (see
    ``doctor_application_duplicate_notice``). Written in the account's language when there is one."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(email__iexact=email).first()
    context = {
        "has_account": reason == "account_exists",
        "site_url": settings.SITE_URL,
        "login_url": settings.SITE_URL + reverse("account_login"),
        "reset_url": settings.SITE_URL + reverse("account_reset_password"),
    }
    with translation.override((user.language if user else "") or settings.LANGUAGE_CODE):
        subject = render_to_string("clinic/emails/application_duplicate.subject.txt", context).strip()
        text = render_to_string("clinic/emails/application_duplicate.txt", context)
        html = render_to_string("clinic/emails/application_duplicate.html", context)
    message = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text, to=[email])
    message.attach_alternative(html, "text/html")
    message.send()
    return "sent"
