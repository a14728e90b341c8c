from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from tenants.models import TenantOwnedModel

__all__ = ["DeviceGroup", "DeviceGroupMember"]


class DeviceGroup(TenantOwnedModel):
    """A named set of a tenant's devices: listed explicitly, or defined by a rule.

    A rule matches devices that carry all of `rule_tags_all`, any of `rule_tags_any` (if
    given), and whose OS family, ecosystem prefix, site and criticality match where set.
    Policies and deployment rings target groups.
    """

    class Kind(models.TextChoices):
        EXPLICIT = "explicit", "Chosen devices"
        RULE = "rule", "By rule"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="device_groups")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.EXPLICIT)
    rule_tags_all = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    rule_tags_any = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    rule_os_family = models.CharField(max_length=10, blank=True)
    rule_ecosystem_prefix = models.CharField(
        max_length=80, blank=True, help_text='e.g. "Debian" or "Ubuntu:22.04" or "Windows".'
    )
    rule_site = models.ForeignKey("tenants.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rule_criticality = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["tenant_id", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="device_group_name_unique")]

    def __str__(self) -> str:
        return self.name

    def rule_q(self) -> Q:
        q = Q()
        if self.rule_tags_all:
            q &= Q(tags__contains=self.rule_tags_all)
        if self.rule_tags_any:
            q &= Q(tags__overlap=self.rule_tags_any)
        if self.rule_os_family:
            q &= Q(os_family=self.rule_os_family)
        if self.rule_ecosystem_prefix:
            q &= Q(ecosystem__startswith=self.rule_ecosystem_prefix)
        if self.rule_site_id:
            q &= Q(site_id=self.rule_site_id)
        if self.rule_criticality:
            q &= Q(criticality=self.rule_criticality)
        return q

    @classmethod
    def containing(cls, device) -> list[DeviceGroup]:
        """The groups a device is in: explicit memberships, and rules it matches (one query each)."""
        from devices.models import Device

        groups = []
        for group in cls.objects.in_tenant(device.tenant).order_by("name"):
            if group.kind == cls.Kind.RULE:
                if Device.objects.filter(pk=device.pk).filter(group.rule_q()).exists():
                    groups.append(group)
            elif group.members.filter(device=device).exists():
                groups.append(group)
        return groups

    def devices(self):
        from devices.models import Device

        base = Device.objects.filter(tenant_id=self.tenant_id).active()
        if self.kind == self.Kind.RULE:
            return base.filter(self.rule_q())
        return base.filter(group_memberships__group=self)


class DeviceGroupMember(TenantOwnedModel):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(DeviceGroup, on_delete=models.CASCADE, related_name="members")
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="group_memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "device"], name="device_group_member_unique")]

    def __str__(self) -> str:
        return f"{self.device} in {self.group}"
