"""Wiring of the job machinery into the apps below deployments (they never import it)."""

from __future__ import annotations

from django.db import transaction

__all__ = ["register"]


def _verify(sender, device, **kwargs) -> None:
    from deployments.jobs import verify_from_inventory

    # The signal is sent inside the upload's transaction, under the device's tenant scope.
    with transaction.atomic():
        verify_from_inventory(device)


def register() -> None:
    from deployments.jobs import checkin_jobs
    from devices import hooks
    from devices.signals import inventory_changed, updates_changed

    inventory_changed.connect(_verify, dispatch_uid="deployments.verify.inventory")
    updates_changed.connect(_verify, dispatch_uid="deployments.verify.updates")
    if checkin_jobs not in hooks.CHECKIN_JOBS:
        hooks.CHECKIN_JOBS.append(checkin_jobs)
