"""Editor panels beyond Wagtail's own: the About text the public sees on a doctor's profile, and a
warning on translations whose source changed since they were last edited."""

from __future__ import annotations

from django.conf import settings
from django.db.models import OuterRef, Subquery
from wagtail.admin.panels import Panel
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Page


def source_published_at() -> Subquery:
    """For a ``Page`` queryset: when the page's source (its translation in the default language) was
    last published."""
    default = get_supported_content_language_variant(settings.LANGUAGE_CODE)
    return Subquery(
        Page.objects.filter(translation_key=OuterRef("translation_key"), locale__language_code=default)
        .exclude(pk=OuterRef("pk"))
        .values("last_published_at")[:1]
    )


class PublicAboutPanel(Panel):
    """Read-only: the About text visitors see on this profile (this page's own About text, else the
    biography on the doctor's record, which the clinic keeps in the admin)."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "cms/admin/public_about_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            page = self.instance
            doctor = page.doctor if getattr(page, "doctor_id", None) else None
            context.update(page=page, doctor=doctor)
            return context


class TranslationStatusPanel(Panel):
    """A warning at the top of a translation whose source page changed after it was last edited."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "cms/admin/translation_status_panel.html"

        def is_shown(self):
            return bool(self.instance.pk) and self.instance.translation_is_stale()

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["source"] = self.instance.translation_source()
            return context
