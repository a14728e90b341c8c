from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"
    verbose_name = "Rings, maintenance windows and deployments"

    def ready(self):
        from deployments import alerts, extensions, receivers

        receivers.register()
        alerts.register()
        extensions.register()
