"""Rings: the order in which a tenant's devices receive a patch, pilot first."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from tenants.models import TenantOwnedModel

__all__ = ["Ring", "RingMember"]

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class Ring(TenantOwnedModel):
    """A stage of a rollout: its devices, how long to wait after it, and when to go on.

    Members are device groups and explicit devices (RingMember) and devices carrying any of
    `tags`; `catch_all` takes every device of the tenant that no earlier ring holds. A
    device in several rings belongs to the earliest. After the ring's jobs finish, the next
    ring starts once `soak_hours` have passed and at least `gate_min_devices` devices
    succeeded at a rate of `gate_min_success_percent`; a failure rate above
    `halt_failure_percent` halts the deployment at once.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="rings")
    name = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField(help_text="Rings run in this order, lowest first.")
    description = models.TextField(blank=True)
    tags = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    catch_all = models.BooleanField(default=False, help_text="Every device no earlier ring holds.")
    soak_hours = models.PositiveIntegerField(default=24)
    gate_min_success_percent = models.PositiveSmallIntegerField(default=95, validators=PERCENT)
    gate_min_devices = models.PositiveIntegerField(default=1)
    halt_failure_percent = models.PositiveSmallIntegerField(default=20, validators=PERCENT)

    class Meta:
        ordering = ["tenant_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="ring_name_unique"),
            models.UniqueConstraint(fields=["tenant", "position"], name="ring_position_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class RingMember(TenantOwnedModel):
    """A device group or one device in a ring."""

    ring = models.ForeignKey(Ring, on_delete=models.CASCADE, related_name="members")
    group = models.ForeignKey("devices.DeviceGroup", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey("devices.Device", null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    audited = False

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(group__isnull=False, device__isnull=True) | Q(group__isnull=True, device__isnull=False),
                name="ring_member_group_or_device",
            ),
            models.UniqueConstraint(fields=["ring", "group"], name="ring_member_group_unique"),
            models.UniqueConstraint(fields=["ring", "device"], name="ring_member_device_unique"),
        ]
