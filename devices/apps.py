from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Devices and inventory"

    def ready(self):
        from devices import extensions

        extensions.register()
