"""Public and portal pages of the clinic back office, mounted from config/urls.py before Wagtail's
catch-all: /join/ (doctor applications) and /portal/support/ (patients' support tickets)."""

from django.urls import path

from workflows.clinic import views

app_name = "clinic"

urlpatterns = [
    path("join/", views.apply, name="apply"),
    path("join/thanks/", views.apply_done, name="apply_done"),
    path("portal/support/", views.support_list, name="support_list"),
    path("portal/support/new/", views.support_new, name="support_new"),
    path("portal/support/<uuid:public_id>/", views.support_detail, name="support_detail"),
    path("portal/support/<uuid:public_id>/resolve/", views.support_resolve, name="support_resolve"),
]
