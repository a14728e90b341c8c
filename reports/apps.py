from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Client reports"

    def ready(self):
        from reports import delivery, extensions

        extensions.register()
        delivery.register()
