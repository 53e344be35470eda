from django import forms
from django.utils.translation import gettext_lazy as _


class PatientSignupForm(forms.Form):
    """Extra fields on allauth's sign-up form (only patients sign up themselves).

    The fewest fields first: name, email, one password. Phone and ID number are asked at booking when
    the profile lacks them (the booking form is pre-filled from the profile)."""

    first_name = forms.CharField(
        label=_("First name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Last name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )

    field_order = ["first_name", "last_name", "email", "password1"]

    def signup(self, request, user) -> None:
        from accounts.services import patient_signup_complete

        patient_signup_complete(
            user=user,
            first_name=self.cleaned_data["first_name"],
            last_name=self.cleaned_data["last_name"],
        )
