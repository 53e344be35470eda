import logging
import re

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.stages import PhoneVerificationStage
from allauth.core import ratelimit
from allauth.core.exceptions import RateLimited
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape, urlize

from accounts import phones
from accounts.models import Role, User
from core.errors import Conflict, DomainError
from core.net import client_ip

logger = logging.getLogger(__name__)


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

    # --- phone numbers (patients only; one number per patient, on their profile) -------------------

    def phone_form_field(self, **kwargs):
        kwargs.pop("label", None)  # ours: "Mobile phone"
        return phones.PhoneNumberField(**kwargs)

    def set_phone(self, user, phone: str, verified: bool) -> None:
        from accounts.services import patient_phone_set

        patient_phone_set(user=user, phone=phone, verified=verified)

    def get_phone(self, user) -> tuple[str, bool] | None:
        from accounts.services import patient_phone_get

        return patient_phone_get(user=user)

    def set_phone_verified(self, user, phone: str) -> None:
        from accounts.services import patient_phone_set

        try:
            patient_phone_set(user=user, phone=phone, verified=True)
        except Conflict:
            # Someone else verified this number first (a number given to a new owner): it stays
            # unverified here rather than signing two accounts in.
            logger.warning("phone verification of user %s refused: the number is verified by another account", user.pk)
        except DomainError:
            logger.warning("phone verification of user %s refused: not a patient or not a valid number", user.pk)

    def get_user_by_phone(self, phone: str):
        from accounts.services import patient_by_verified_phone

        return patient_by_verified_phone(phone)

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        language = getattr(user, "language", "") or translation.get_language() or settings.LANGUAGE_CODE
        minutes = max(settings.ACCOUNT_PHONE_VERIFICATION_TIMEOUT // 60, 1)
        with translation.override(language):
            text = translation.gettext(
                "%(clinic)s: your code is %(code)s. It expires in %(minutes)s minutes. Never share it."
            ) % {"clinic": settings.CLINIC_NAME, "code": code, "minutes": minutes}
        phones.send_account_sms(phone=phone, text=text)

    def get_login_stages(self) -> list[str]:
        # a phone is verified when it is given (sign-up, "change phone"), not at every later sign-in
        return [
            "accounts.adapter.SignupPhoneVerificationStage" if path.endswith(".PhoneVerificationStage") else path
            for path in super().get_login_stages()
        ]

    def get_client_ip(self, request):
        # one definition of the client IP for every rate limit (README "Security")
        return client_ip(request)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Every account email in the recipient's language (their saved one, else the page's). Never
        to a placeholder address (``no-email.invalid``: a phone-only or walk-in account)."""
        from accounts.services import has_real_email

        if not has_real_email(email):
            return
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


class SignupPhoneVerificationStage(PhoneVerificationStage):
    """allauth's phone verification, at sign-up only. allauth would stop every sign-in of an account
    whose number is not verified to text it a code, which would catch patients who typed a number at
    booking; an unverified number simply does not sign anyone in."""

    def handle(self):
        if not self.login.signup:
            return None, True
        try:
            return super().handle()
        except RateLimited:  # the sign-up form checks first; this is a race with another request
            return ratelimit.respond_429(self.request), False


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
