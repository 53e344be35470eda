from django.utils.functional import SimpleLazyObject


def portal(request):
    """The unread notification count for the header (one query, only when a page shows it)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count():
        from workflows.selectors import unread_count

        return unread_count(user)

    return {"unread_notifications": SimpleLazyObject(count), "needs_time_zone": not user.time_zone}
