from django.urls import path

from portal import payments, views
from portal.urls_visits import urlpatterns as visit_urlpatterns

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("appointments/<uuid:public_id>/", views.appointment_detail, name="appointment_detail"),
    path("appointments/<uuid:public_id>/pay/", views.appointment_pay, name="appointment_pay"),
    path("pay/sandbox/<str:reference>/", payments.sandbox_checkout, name="sandbox_checkout"),
    *visit_urlpatterns,
]
