"""Portal routes for video visits and messaging (included by portal/urls.py under the portal namespace)."""

urlpatterns: list = []
