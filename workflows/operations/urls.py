from django.urls import path

from workflows.operations import views

urlpatterns = [
    path("<str:key>/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
