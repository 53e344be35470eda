"""Give third-party ModelAdmins (django-q2, allauth, django-fsm-log, auth) the Unfold look.

Each one is re-registered as a subclass of Unfold's ModelAdmin and its own class, so its list,
filters and actions stay as the package wrote them. Models nobody should manage from the admin are
hidden instead.
"""

from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin as UnfoldModelAdmin

HIDDEN = {
    "taggit.tag",  # editors manage tags in Wagtail
    "django_q.ormq",  # the raw queue; scheduled/failed/successful tasks are shown instead
    "account.emailconfirmation",
}


def retheme_third_party_admins(site: admin.AdminSite | None = None) -> None:
    site = site or admin.site
    for model, model_admin in list(site._registry.items()):
        label = model._meta.label_lower
        if label in HIDDEN:
            site.unregister(model)
            continue
        if isinstance(model_admin, UnfoldModelAdmin):
            continue
        themed = type(
            f"Unfold{model_admin.__class__.__name__}",
            (UnfoldModelAdmin, model_admin.__class__),
            {"__module__": __name__},
        )
        site.unregister(model)
        site.register(model, themed)
