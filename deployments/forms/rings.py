"""A ring: its place in the order, its members (groups, tags, devices, or everything left) and its gate."""

from __future__ import annotations

from django import forms
from django.contrib.postgres.forms import SimpleArrayField
from django.db import transaction

from deployments.models import Ring, RingMember
from devices.models import Device, DeviceGroup
from tenants import audit

__all__ = ["RingForm", "save_members"]


class RingForm(forms.ModelForm):
    tags = SimpleArrayField(
        forms.SlugField(max_length=60),
        required=False,
        delimiter=",",
        help_text="Devices carrying any of these tags (comma-separated).",
    )
    groups = forms.ModelMultipleChoiceField(
        queryset=DeviceGroup.objects.none(), required=False, help_text="Every device of these groups."
    )
    devices = forms.ModelMultipleChoiceField(
        queryset=Device.objects.none(), required=False, help_text="These devices, chosen one by one."
    )

    class Meta:
        model = Ring
        fields = [
            "name",
            "position",
            "description",
            "groups",
            "tags",
            "devices",
            "catch_all",
            "soak_hours",
            "gate_min_success_percent",
            "gate_min_devices",
            "halt_failure_percent",
        ]
        labels = {
            "soak_hours": "Soak (hours)",
            "gate_min_success_percent": "Gate: minimum success (%)",
            "gate_min_devices": "Gate: minimum devices succeeded",
            "halt_failure_percent": "Halt when failures exceed (%)",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["groups"].queryset = DeviceGroup.objects.in_tenant(tenant).order_by("name")
        self.fields["devices"].queryset = Device.objects.in_tenant(tenant).active().order_by("hostname")
        if self.instance.pk:
            members = list(self.instance.members.values_list("group_id", "device_id"))
            self.initial["groups"] = [g for g, _ in members if g is not None]
            self.initial["devices"] = [d for _, d in members if d is not None]
        elif "position" not in self.initial:
            last = Ring.objects.in_tenant(tenant).order_by("-position").values_list("position", flat=True).first()
            self.initial["position"] = 0 if last is None else last + 1

    def clean(self):
        cleaned = super().clean()
        others = Ring.objects.in_tenant(self.tenant).exclude(pk=self.instance.pk)
        if cleaned.get("name") and others.filter(name=cleaned["name"]).exists():
            self.add_error("name", "This client already has a ring of that name.")
        if cleaned.get("position") is not None and others.filter(position=cleaned["position"]).exists():
            self.add_error("position", "Another ring of this client has that position.")
        has_members = cleaned.get("groups") or cleaned.get("devices") or cleaned.get("tags")
        if not cleaned.get("catch_all") and not has_members and not self.errors:
            self.add_error(None, "Give the ring members (groups, tags or devices) or make it the catch-all ring.")
        return cleaned

    @transaction.atomic
    def save(self, commit=True):
        ring = super().save(commit=False)
        ring.tenant = self.tenant
        ring.save()
        save_members(ring, groups=self.cleaned_data["groups"], devices=self.cleaned_data["devices"])
        return ring


def save_members(ring: Ring, *, groups, devices) -> None:
    """Make the ring's explicit members exactly these groups and devices; audited when they change."""
    wanted = {("group", g.pk) for g in groups} | {("device", d.pk) for d in devices}
    current = {
        (("group", g) if g is not None else ("device", d)): pk
        for pk, g, d in RingMember.objects.filter(ring=ring).values_list("pk", "group_id", "device_id")
    }
    removed = [pk for key, pk in current.items() if key not in wanted]
    added = sorted(wanted - set(current))
    if not removed and not added:
        return
    RingMember.objects.filter(pk__in=removed).delete()
    RingMember.objects.bulk_create(
        RingMember(
            tenant_id=ring.tenant_id,
            ring=ring,
            group_id=pk if kind == "group" else None,
            device_id=pk if kind == "device" else None,
        )
        for kind, pk in added
    )
    audit.record(
        "ring.members_changed",
        ring,
        changes={
            "groups": sorted(pk for kind, pk in wanted if kind == "group"),
            "devices": sorted(pk for kind, pk in wanted if kind == "device"),
        },
        message=f"{len(added)} added, {len(removed)} removed",
    )
