from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants, users and audit"

    def ready(self):
        from tenants import signals  # noqa: F401  (login/logout audit)
        from tenants.api import schema  # noqa: F401  (OpenAPI security schemes)
