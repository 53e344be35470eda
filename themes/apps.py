from django.apps import AppConfig


class ThemesConfig(AppConfig):
    """The look. Listed last in INSTALLED_APPS so that ``ready`` runs after every admin registered."""

    name = "themes"
    verbose_name = "Medbook theme"

    def ready(self) -> None:
        from themes.admin_theme import retheme_third_party_admins

        retheme_third_party_admins()
