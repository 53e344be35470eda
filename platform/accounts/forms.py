from django import forms
from django.utils.translation import gettext_lazy as _


class PatientSignupForm(forms.Form):
    """Extra fields on allauth's sign-up form (only patients sign up themselves)."""

    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)

    field_order = ["first_name", "last_name", "email", "phone", "password1", "password2"]

    def signup(self, request, user) -> None:
        from accounts.services import patient_signup_complete

        patient_signup_complete(
            user=user,
            first_name=self.cleaned_data["first_name"],
            last_name=self.cleaned_data["last_name"],
            phone=self.cleaned_data.get("phone", ""),
        )
