"""allauth's sign-up, sign-in-code and change-phone forms as Medbook uses them (a module of its own:
accounts.forms is imported by allauth.account.forms, so it cannot import from there)."""

from __future__ import annotations

import uuid

from allauth.account.forms import ChangePhoneForm, RequestLoginCodeForm, SignupForm
from allauth.core import context, ratelimit
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Role


class MedbookSignupForm(SignupForm):
    """Sign up with an email address, a mobile number, or both. Each is confirmed by a code: the
    number by SMS, the address by email. Without an email the account gets an address on the
    reserved ``no-email.invalid`` domain that nothing is ever sent to (as the front desk does for a
    walk-in), so the rest of the system keeps one login name per account."""

    field_order = ["first_name", "last_name", "email", "phone", "password1"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.signed_up_without_email = False
        email = self.fields["email"]
        email.required = False
        email.widget.is_required = False
        email.label = _("Email")
        email.help_text = _("Give your email, your mobile number, or both: we send a code to confirm each.")
        if "phone" in self.fields:
            self.fields["phone"].required = False
            self.fields["phone"].help_text = _("We text you a code; you can then sign in with this number.")

    def clean_email(self) -> str:
        if not (self.cleaned_data.get("email") or "").strip():
            return ""
        return super().clean_email()

    def clean(self):
        cleaned_data = super().clean()
        given = cleaned_data.get("email") or cleaned_data.get("phone")
        if not given and not self.has_error("phone") and not self.has_error("email"):
            raise forms.ValidationError(_("Give an email address or a mobile number."), code="no_contact")
        phone = cleaned_data.get("phone")
        # the code is texted after the account is saved: a number or a network that asked for too
        # many codes is refused here, before an account exists that nobody could verify
        if (
            phone
            and not self.errors
            and context.request is not None
            and not ratelimit.consume(context.request, action="verify_phone", key=phone, dry_run=True)
        ):
            self.add_error("phone", _("Too many codes were sent just now. Try again in a few minutes."))
        if not cleaned_data.get("email") and phone and not self.errors:
            from accounts.services import NO_EMAIL_DOMAIN

            cleaned_data["email"] = f"patient-{uuid.uuid4().hex[:16]}@{NO_EMAIL_DOMAIN}"
            self.signed_up_without_email = True
        return cleaned_data

    def save(self, request):
        user = super().save(request)
        if self.signed_up_without_email:
            # the placeholder address is nobody's: nothing to verify there; the phone is verified by SMS
            from accounts.services import user_mark_email_verified

            user_mark_email_verified(user=user)
        return user


class PhoneLoginCodeForm(RequestLoginCodeForm):
    """ "Sign in with a code": a code texted to the mobile number a patient verified. Codes by email
    are not offered here (the clinic's staff sign in with their password and MFA)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("email", None)
        self.fields["phone"].required = True


class PatientChangePhoneForm(ChangePhoneForm):
    """Adding or changing a sign-in number: patients only."""

    def clean(self):
        cleaned_data = super().clean()
        if self.user is not None and getattr(self.user, "role", None) != Role.PATIENT:
            raise forms.ValidationError(
                _("Clinic accounts sign in with their email, password and MFA, not a phone number."),
                code="not_a_patient",
            )
        return cleaned_data
