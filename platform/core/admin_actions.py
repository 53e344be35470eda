"""Shared plumbing for admin buttons: every button asks first, then calls a service and reports.

A button that changes data never acts on GET. ``button`` wraps Unfold's ``action`` so that:

- a GET shows the confirmation: the Unfold dialog when the button is clicked on the page (htmx), a
  full admin page when the URL is opened directly (a link in an e-mail, a new tab, a dashboard row);
- only a POST of the dialog's form runs the action. The admin's views are CSRF-protected, and the
  form's hidden ``_form_submitted`` field must be present, so neither a GET nor a foreign form post
  changes anything;
- after an htmx POST the browser is sent to the result page (``HX-Redirect``), not left with a
  half-swapped dialog.

``confirm_dialog`` builds the dialog; ``consequence`` says in words what will happen, to whom.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from unfold.decorators import action
from unfold.enums import ActionVariant
from unfold.forms import BaseDialogForm

from core.errors import DomainError

Consequence = Callable[[HttpRequest, Any], str]


def run_service(request, work, success, *, back: str):
    """Call ``work()``; a domain error becomes an error message, success a success message; then go
    back to ``back`` (the page the button was on)."""
    try:
        work()
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)
    return redirect(back)


def find(queryset, object_id):
    """The row with primary key ``object_id`` in ``queryset``, or None, also for a hand-made id that is
    not a valid key (``/admin/…/x/change/``): like ``ModelAdmin.get_object``, never a 500."""
    try:
        return queryset.filter(pk=object_id).first()
    except (ValueError, TypeError, ValidationError):
        return None


class ConfirmForm(BaseDialogForm):
    """The form of a confirmation dialog. Without fields it is just "are you sure"; subclasses add
    fields (a reason, an amount). ``consequence(request, object_id)``, when set, says in words what
    will happen and to whom; it is shown above the fields."""

    form_before_template = "admin/includes/action_consequence.html"
    consequence: Consequence | None = None

    def get_before_template_context(self, request, object_id=None):
        says = type(self).consequence
        return {"consequence": says(request, object_id) if says is not None and object_id is not None else ""}


def confirm_dialog(
    *,
    title,
    submit,
    consequence: Consequence | None = None,
    description="",
    form_class: type[ConfirmForm] = ConfirmForm,
) -> dict:
    """An Unfold dialog definition for ``button``. ``consequence`` is called with the request and the
    object id (permissions are checked before it runs) and returns the sentence to show."""
    if not issubclass(form_class, ConfirmForm):
        raise TypeError("confirmation dialogs use a ConfirmForm subclass")
    if consequence is not None:
        form_class = type(form_class.__name__, (form_class,), {"consequence": staticmethod(consequence)})
    return {"title": title, "description": description, "form_class": form_class, "form_submit_text": submit}


def button(
    *,
    description,
    dialog: dict,
    permissions,
    icon: str | None = None,
    variant: ActionVariant = ActionVariant.DEFAULT,
    url_path: str | None = None,
):
    """An admin detail button that changes data (see the module docstring). The decorated method
    has Unfold's dialog signature ``(self, request, form, object_id)`` and runs only on a valid POST."""

    def decorator(func):
        inner = action(
            description=description,
            permissions=permissions,
            icon=icon,
            variant=variant,
            url_path=url_path,
            dialog=dialog,
        )(func)

        @wraps(inner)
        def view(model_admin, request, *args, **kwargs):
            response = inner(model_admin, request, *args, **kwargs)
            htmx = request.headers.get("HX-Request") == "true"
            if isinstance(response, HttpResponseRedirect):
                if htmx:
                    # htmx would follow the redirect inside the dialog; send the whole page there.
                    answer = HttpResponse(status=204)
                    answer["HX-Redirect"] = response.url
                    return answer
                return response
            if htmx or response.status_code != 200:
                return response
            return _confirmation_page(model_admin, request, dialog, kwargs.get("object_id"), variant=variant)

        view.changes_data = True  # read by the "no state change on GET" test
        return view

    return decorator


def _confirmation_page(model_admin, request, dialog: dict, object_id, *, variant) -> TemplateResponse:
    """The dialog as a full admin page, for a button URL opened without htmx."""
    form = dialog["form_class"](data=request.POST or None, request=request, object_id=object_id)
    if form.is_bound:
        form.is_valid()  # show the errors
    opts = model_admin.opts
    back = None
    if object_id is not None:
        try:
            back = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
        except NoReverseMatch:
            back = None
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": dialog["title"],
        "dialog": dialog,
        "form": form,
        "form_submit_text": dialog.get("form_submit_text") or "",
        "destructive": variant in (ActionVariant.DANGER, ActionVariant.WARNING),
        "back_url": back or reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


class ReadOnlyAdminMixin:
    """A log or a record written only by services: nobody adds, edits or deletes it in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
