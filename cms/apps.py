from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _site_follows_site_url(**kwargs) -> None:
    from cms.services import default_site_follow_site_url

    default_site_follow_site_url()


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = _("Public site")

    def ready(self) -> None:
        # the default site's address follows SITE_URL on every deploy (deploys run migrate)
        post_migrate.connect(_site_follows_site_url, sender=self, dispatch_uid="cms.site_follows_site_url")
        # Wagtail's locale and view-restriction reads answered once per read request (issue 19)
        from cms import request_memo

        request_memo.install()
        # Wagtail's site-for-host lookup from SQL compiled once (issue 19)
        from cms import site_lookup

        site_lookup.install()
        # the site's page types turned specific (routing) from SQL compiled once (issue 19)
        from cms import specific_pages

        specific_pages.install()
