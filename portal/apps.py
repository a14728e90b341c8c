from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal core"

    def ready(self):
        from portal import checks  # noqa: F401  (registers the system checks)

        post_migrate.connect(_after_migrate, dispatch_uid="portal.grant_app_role")


def _after_migrate(sender, using="default", **kwargs):
    # post_migrate fires once per app; granting is idempotent and cheap.
    from portal.grants import grant_app_role

    grant_app_role(using=using)
