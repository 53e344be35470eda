import re

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape, urlize

from accounts.models import Role, User
from core.net import client_ip


def home_url_for(user) -> str:
    """Where a user lands after logging in: their own workspace."""
    if user.is_authenticated:
        if user.is_staff:
            return reverse("admin:index")
        if user.role == Role.EDITOR:
            return reverse("wagtailadmin_home")
        return reverse("portal:home")
    return "/"


class MedbookAccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        # An explicit ?next= is honoured by allauth before this is called.
        return home_url_for(request.user)

    def save_user(self, request, user, form, commit=True):
        # Self sign-up is for patients only; clinic roles are created in the admin. The language the
        # visitor signed up in is theirs from now on (emails, notifications) until they change it.
        user.role = Role.PATIENT
        user.language = translation.get_language() if translation.get_language() in dict(settings.LANGUAGES) else ""
        return super().save_user(request, user, form, commit=commit)

    def get_client_ip(self, request):
        # one definition of the client IP for every rate limit (README "Security")
        return client_ip(request)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Every account email in the recipient's language (their saved one, else the page's)."""
        user = context.get("user") or User.objects.filter(email__iexact=email).first()
        language = getattr(user, "language", "") or translation.get_language() or settings.LANGUAGE_CODE
        with translation.override(language):
            context = {**context, "clinic_name": settings.CLINIC_NAME, "site_url": settings.SITE_URL}
            super().send_mail(template_prefix, email, context)

    def render_mail(self, template_prefix, email, context, headers=None):
        """The text allauth renders, plus an HTML part in the clinic's branded layout when the email
        has no HTML template of its own."""
        message = super().render_mail(template_prefix, email, context, headers=headers)
        if isinstance(message, EmailMultiAlternatives) and not message.alternatives:
            message.attach_alternative(_branded_html(message.subject, message.body, context), "text/html")
        return message


def _branded_html(subject: str, text: str, context: dict) -> str:
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]
    html_paragraphs = []
    for part in paragraphs:
        if re.fullmatch(r"\d{6}", part):  # a verification code: big and easy to copy
            html_paragraphs.append(("code", part))
        else:
            html_paragraphs.append(("text", urlize(escape(part)).replace("\n", "<br>")))
    return render_to_string(
        "account/email/branded.html",
        {
            "subject": subject,
            "paragraphs": html_paragraphs,
            "clinic_name": context.get("clinic_name", settings.CLINIC_NAME),
            "site_url": context.get("site_url", settings.SITE_URL),
            "language_code": translation.get_language(),
        },
    )
