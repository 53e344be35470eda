from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from accounts.roles import sync_role_groups_after_migrate

        # Permissions of apps migrated after ours only exist once their own post_migrate ran, so the
        # role groups are brought up to date after every migrate (idempotent, a handful of queries).
        post_migrate.connect(sync_role_groups_after_migrate, dispatch_uid="medbook-sync-role-groups")

        from accounts.sessions import connect

        connect()  # security changes end the user's other sessions
