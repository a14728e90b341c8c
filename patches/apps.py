from django.apps import AppConfig


class PatchesConfig(AppConfig):
    name = "patches"
    verbose_name = "Findings, patches and approvals"

    def ready(self):
        from patches import extensions

        extensions.register()
