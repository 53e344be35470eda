"""Wagtail, the clinic's way: brand colours and logo (the templates under themes/templates/wagtailadmin),
stale translations flagged in the page listings, doctor profiles waiting on the dashboard."""

from __future__ import annotations

from django.templatetags.static import static
from django.utils.html import format_html
from wagtail import hooks
from wagtail.admin.ui.components import Component

from cms.models import DoctorProfilePage
from cms.panels import source_published_at


class DoctorProfileDraftsPanel(Component):
    """The dashboard's "Doctor profiles waiting": profile pages never published, or with changes not
    published yet, oldest edit first."""

    name = "doctor_profile_drafts"
    template_name = "cms/admin/doctor_profile_drafts.html"
    order = 90  # above Wagtail's own panels
    limit = 10

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        drafts = (
            DoctorProfilePage.objects.filter(has_unpublished_changes=True)
            .select_related("doctor__user", "locale")
            .defer_streamfields()
            .order_by("latest_revision_created_at", "pk")
        )
        context["drafts"] = list(drafts[: self.limit])
        context["total"] = drafts.count() if len(context["drafts"]) == self.limit else len(context["drafts"])
        return context


@hooks.register("insert_global_admin_css")
def clinic_colours():
    return format_html('<link rel="stylesheet" href="{}">', static("medbook/wagtail-admin.css"))


@hooks.register("construct_homepage_panels")
def doctor_profiles_waiting(request, panels):
    panels.append(DoctorProfileDraftsPanel())


@hooks.register("construct_explorer_page_queryset")
def with_translation_source(parent_page, pages, request):
    """One subquery for the whole listing instead of one query per page (``translation_is_stale``)."""
    return pages.annotate(source_published_at=source_published_at())
