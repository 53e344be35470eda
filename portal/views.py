from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts.adapter import home_url_for


@login_required
def home(request):
    """The patient's start page; clinic accounts are sent to their own workspace."""
    if not request.user.is_patient:
        return redirect(home_url_for(request.user))
    return render(request, "portal/home.html", {})
