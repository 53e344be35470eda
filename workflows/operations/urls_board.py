from django.urls import path

from workflows.operations import views

urlpatterns = [
    path("<str:token>/", views.queue_board, name="queue_board"),
]
