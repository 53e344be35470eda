"""allauth's email-code form with a number pad on phones (a module of its own: accounts.forms is
imported by allauth.account.forms, so it cannot import from there)."""

from allauth.account.forms import ConfirmEmailVerificationCodeForm


class EmailVerificationCodeForm(ConfirmEmailVerificationCodeForm):
    """The 6-digit email code: a number pad on phones, the code offered from the mail app."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(
            {"inputmode": "numeric", "maxlength": "6", "placeholder": "", "autocomplete": "one-time-code"}
        )
