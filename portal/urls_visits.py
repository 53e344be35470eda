"""Portal routes for video visits and messaging (included by portal/urls.py under the portal namespace)."""

from django.urls import path

from portal import messaging, video

urlpatterns: list = [
    path("visits/<uuid:public_id>/video/", video.video_visit, name="video_visit"),
    path("messages/", messaging.message_list, name="messages"),
    path("messages/start/", messaging.message_start, name="message_start"),
    path("messages/<int:conversation_id>/", messaging.message_thread, name="message_thread"),
    path("messages/<int:conversation_id>/poll/", messaging.message_poll, name="message_poll"),
]
