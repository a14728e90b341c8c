"""Print the current TOTP code of each demo staff user (demo mode only)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.db_scope import system_scope


class Command(BaseCommand):
    help = "Show the demo staff users' current TOTP codes (DEMO_MODE only)."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("demo_totp runs only with DEMO_MODE=true.")
        with system_scope():
            devices = TOTPDevice.objects.filter(confirmed=True, user__email__endswith="@msp.example").select_related(
                "user"
            )
            for device in devices:
                code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
                remaining = device.step - int(time.time() - device.t0) % device.step
                self.stdout.write(f"{device.user.email:<26} {code:0{device.digits}d}  (valid {remaining}s more)")
