"""Template context for the back office's outbox messages (rendered by ``workflows.messages``, which
finds these functions through its registry of kinds; booking never imports workflows)."""

from __future__ import annotations

from allauth.account import app_settings as account_settings
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.urls import NoReverseMatch, reverse

from workflows.clinic.models import ApplicationStatus, DoctorApplication, SupportTicket, TicketMessage


def support_reply_context(message, recipient) -> dict | None:
    """``support.reply``: the clinic answered the patient's ticket. None when the ticket is gone."""
    ticket = SupportTicket.objects.filter(pk=message.object_id or message.context.get("ticket")).first()
    if ticket is None:
        return None
    reply = TicketMessage.objects.filter(pk=message.context.get("message"), ticket=ticket, is_internal=False).first()
    try:
        link = reverse("portal:support_detail", args=[ticket.public_id])
    except NoReverseMatch:
        link = f"/portal/support/{ticket.public_id}/"
    return {
        "ticket_number": ticket.pk,
        "ticket_subject": ticket.subject,
        "reply": reply.body if reply is not None else "",
        "link": link,
    }


def password_setup_path(user) -> str:
    """A one-time link to set a first password, through allauth's password reset (it stops working once
    a password is set or after PASSWORD_RESET_TIMEOUT)."""
    token = account_settings.PASSWORD_RESET_TOKEN_GENERATOR().make_token(user)
    return reverse("account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(user), "key": token})


def _application(message) -> DoctorApplication | None:
    return DoctorApplication.objects.select_related("user").filter(pk=message.object_id).first()


def application_invitation_context(message, recipient) -> dict | None:
    """``application.invitation``: approved; the new doctor sets a password (a fresh link each time the
    message is rendered). None when the application is gone or no longer approved."""
    application = _application(message)
    if application is None or application.status != ApplicationStatus.APPROVED or application.user is None:
        return None
    return {
        "name": application.first_name or application.full_name,
        "email": application.email,
        "setup_url": settings.SITE_URL + password_setup_path(application.user),
        "login_url": settings.SITE_URL + reverse("account_login"),
        "link": reverse("account_login"),
    }


def application_rejection_context(message, recipient) -> dict | None:
    """``application.rejection``: rejected, with the clinic's reason."""
    application = _application(message)
    if application is None or application.status != ApplicationStatus.REJECTED:
        return None
    return {
        "name": application.first_name or application.full_name,
        "email": application.email,
        "reason": application.rejection_reason,
        "login_url": settings.SITE_URL + reverse("account_login"),
        "link": "/",
    }


def application_duplicate_context(message, recipient) -> dict:
    """``application.duplicate``: the public form got an application for this address, which already
    has an account or an open application; only its owner learns why nothing new was recorded."""
    return {
        "has_account": message.context.get("reason") == "account_exists",
        "login_url": settings.SITE_URL + reverse("account_login"),
        "reset_url": settings.SITE_URL + reverse("account_reset_password"),
        "link": reverse("account_login"),
    }
