from django.utils.functional import SimpleLazyObject


def unread_messages(request):
    """``unread_messages_count`` for templates: counted (one query) only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        from workflows.messaging.selectors import unread_total

        return unread_total(user=user)

    return {"unread_messages_count": SimpleLazyObject(count)}
