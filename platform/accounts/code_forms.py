"""allauth's code forms (email, phone, sign-in) with a number pad on phones (a module of its own: accounts.forms is
imported by allauth.account.forms, so it cannot import from there)."""

from allauth.account.forms import ConfirmEmailVerificationCodeForm, ConfirmLoginCodeForm, VerifyPhoneForm

#: a number pad on phones, the code offered from the mail or SMS app
NUMERIC_CODE = {"inputmode": "numeric", "maxlength": "6", "placeholder": "", "autocomplete": "one-time-code"}


class EmailVerificationCodeForm(ConfirmEmailVerificationCodeForm):
    """The 6-digit email code: a number pad on phones, the code offered from the mail app."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(NUMERIC_CODE)


class PhoneVerificationCodeForm(VerifyPhoneForm):
    """The 6-digit code texted to a new number: a number pad, the code offered from the SMS."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(NUMERIC_CODE)


class LoginCodeForm(ConfirmLoginCodeForm):
    """The 6-digit sign-in code texted to a patient's number."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(NUMERIC_CODE)
