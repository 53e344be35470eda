from django.urls import path

from workflows.messaging import views

urlpatterns = [
    path("<str:provider>/status", views.sms_status, name="sms_status"),
    path("<str:provider>/inbound", views.sms_reply, name="sms_inbound"),
]
