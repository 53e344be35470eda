"""Wagtail lookups that give the same answer for the length of one read request, read once per request.

Serving one public page asks Wagtail for the active ``Locale`` four times or more (routing, the
page's translation, the footer's legal pages...) and for every page view restriction once per
``.public()`` queryset (the page's own, the profile cards', the menu). Within a GET or HEAD request
those answers are remembered (issue 19); nothing is kept from one request to the next, so a new
locale or restriction shows on the next request. A change saved during the request (an editor's
own GET does not save; the signals below are the safety net) forgets what was remembered.

The memo lives in a context variable that ``request_started`` sets and ``request_finished``
clears: outside a request (management commands, tasks, tests that call code directly) nothing is
remembered.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.core.signals import request_finished, request_started
from django.db.models import Q
from django.db.models.signals import post_delete, post_save

_memo: ContextVar[dict | None] = ContextVar("cms_request_memo", default=None)

#: requests that read only: the only ones that remember
READ_METHODS = frozenset({"GET", "HEAD"})


def _started(sender=None, environ=None, scope=None, **kwargs) -> None:
    method = (environ or {}).get("REQUEST_METHOD") or (scope or {}).get("method")
    _memo.set({} if method in READ_METHODS else None)


def _finished(sender=None, **kwargs) -> None:
    _memo.set(None)


def forget(sender=None, **kwargs) -> None:
    """Forget what this request remembered (a locale, a restriction or a page's place changed)."""
    memo = _memo.get()
    if memo is not None:
        memo.clear()


def remembered(key: tuple, load: Callable[[], Any]) -> Any:
    """``load()``, remembered under ``key`` for the rest of this read request (not outside one)."""
    memo = _memo.get()
    if memo is None:
        return load()
    try:
        return memo[key]
    except KeyError:
        value = memo[key] = load()
        return value


def view_restrictions() -> list:
    """Every page view restriction, with its page (what ``PageQuerySet.public()`` excludes)."""
    from wagtail.models import PageViewRestriction

    return list(PageViewRestriction.objects.select_related("page").all())


def install() -> None:
    """Connect the request signals and route Wagtail's locale and view-restriction reads through the
    memo (``CmsConfig.ready``)."""
    from wagtail.models import Locale, PageViewRestriction
    from wagtail.models.i18n import LocaleManager
    from wagtail.query import PageQuerySet
    from wagtail.signals import post_page_move

    request_started.connect(_started, dispatch_uid="cms.request_memo.started")
    request_finished.connect(_finished, dispatch_uid="cms.request_memo.finished")
    for model in (Locale, PageViewRestriction):
        post_save.connect(forget, sender=model, dispatch_uid=f"cms.request_memo.saved.{model.__name__}")
        post_delete.connect(forget, sender=model, dispatch_uid=f"cms.request_memo.deleted.{model.__name__}")
    post_page_move.connect(forget, dispatch_uid="cms.request_memo.page_moved")

    if getattr(LocaleManager.get_for_language, "remembers", False):
        return
    get_for_language = LocaleManager.get_for_language

    def locale_for_language(self, language_code):
        return remembered(("locale", language_code), lambda: get_for_language(self, language_code))

    def remembered_private_q(self):
        # PageQuerySet.private_q, with the restrictions read once per request
        q = Q()
        for restriction in remembered(("view_restrictions",), view_restrictions):
            q |= self.descendant_of_q(restriction.page, inclusive=True)
        return q if q else Q(pk__in=[])

    locale_for_language.remembers = True
    LocaleManager.get_for_language = locale_for_language
    PageQuerySet.private_q = remembered_private_q
