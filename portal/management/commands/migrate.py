"""`migrate`, run as the schema owner (MIGRATION_DATABASE_URL) rather than the app's role."""

from __future__ import annotations

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

OWNER_KEYS = ("USER", "PASSWORD", "HOST", "PORT")


def use_owner_credentials(alias: str = "default") -> None:
    connection = connections[alias]
    owner = settings.MIGRATION_DATABASE
    if all(connection.settings_dict.get(k) == owner.get(k) for k in OWNER_KEYS):
        return
    connection.close()
    # A pool keeps the credentials it was opened with (system checks may have opened it);
    # migrations need one plain connection as the owner.
    if getattr(connection, "pool", None) is not None:
        connection.close_pool()
    connection.settings_dict.get("OPTIONS", {}).pop("pool", None)
    for key in OWNER_KEYS:
        connection.settings_dict[key] = owner.get(key)


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Connects as the schema owner from MIGRATION_DATABASE_URL."

    def handle(self, *args, **options):
        use_owner_credentials(options["database"])
        return super().handle(*args, **options)
