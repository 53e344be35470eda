"""/join/: the public doctor application form (mounted at the site root by config/urls.py)."""

from django.urls import path

from portal import join

app_name = "join"

urlpatterns = [
    path("", join.apply, name="apply"),
    path("thanks/", join.apply_done, name="done"),
]
