"""Launching a deployment: approved patches, rings or chosen devices, and how fast it goes."""

from __future__ import annotations

from django import forms
from django.db.models import Q

from deployments.models import Deployment, Ring
from devices.models import Device
from patches.models import Patch
from patches.models.approvals import ApprovalState

__all__ = ["PATCH_CHOICES", "DeploymentForm", "approved_patches"]

# The patch list shows this many approved patches, KEV and newest first.
PATCH_CHOICES = 500


def approved_patches(tenant):
    """Patches with an open approval for this tenant or all tenants (planning decides per device)."""
    approved = Q(approvals__state=ApprovalState.APPROVED, approvals__closed_at__isnull=True) & (
        Q(approvals__tenant__isnull=True) | Q(approvals__tenant_id=tenant.pk)
    )
    return (
        Patch.objects.filter(approved, superseded_by__isnull=True).distinct().order_by("-kev", "-released_on", "name")
    )


def _patch_label(patch: Patch) -> str:
    kev = " [KEV]" if patch.kev else ""
    version = f" {patch.version}" if patch.version else ""
    title = f": {patch.title}" if patch.title else ""
    return f"{patch.name}{version} ({patch.ecosystem}){title}{kev}"


class DeploymentForm(forms.Form):
    TARGET_RINGS, TARGET_DEVICES = "rings", "devices"

    name = forms.CharField(max_length=200)
    patches = forms.ModelMultipleChoiceField(
        queryset=Patch.objects.none(), widget=forms.CheckboxSelectMultiple, help_text="Approved patches only."
    )
    target = forms.ChoiceField(
        choices=[(TARGET_RINGS, "Rings, in order"), (TARGET_DEVICES, "Chosen devices")],
        initial=TARGET_RINGS,
        widget=forms.RadioSelect,
        label="Deploy to",
    )
    rings = forms.ModelMultipleChoiceField(
        queryset=Ring.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty for every ring.",
    )
    devices = forms.ModelMultipleChoiceField(queryset=Device.objects.none(), required=False)
    batch_size = forms.IntegerField(min_value=1, max_value=10_000, initial=50, help_text="Devices per batch.")
    max_concurrent = forms.IntegerField(
        min_value=1, max_value=10_000, initial=100, label="Concurrency", help_text="Jobs in flight at once."
    )
    batch_interval_minutes = forms.IntegerField(
        min_value=0, max_value=24 * 60, initial=5, label="Minutes between batches"
    )
    max_attempts = forms.IntegerField(min_value=1, max_value=10, initial=3)
    catch_up = forms.ChoiceField(choices=Deployment.CatchUp.choices, initial=Deployment.CatchUp.NEXT_WINDOW)
    allow_rollback = forms.BooleanField(required=False, initial=True)
    dry_run = forms.BooleanField(required=False, help_text="Agents report what they would do and change nothing.")
    run_now = forms.BooleanField(
        required=False,
        label="Run now (emergency)",
        help_text="Ignore maintenance windows and blackouts: devices install as soon as they check in.",
    )
    confirm_run_now = forms.BooleanField(
        required=False, label="I confirm the emergency override: devices may install and reboot during work hours."
    )
    run_now_reason = forms.CharField(
        required=False, max_length=500, label="Why it cannot wait", help_text="Recorded in the audit log."
    )

    def __init__(self, *args, tenant, may_run_now: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.may_run_now = may_run_now
        patches = self.fields["patches"]
        patches.queryset = approved_patches(tenant)
        patches.label_from_instance = _patch_label
        self.fields["rings"].queryset = Ring.objects.in_tenant(tenant).order_by("position")
        self.fields["devices"].queryset = Device.objects.in_tenant(tenant).active().order_by("hostname")
        if not may_run_now:
            for name in ("run_now", "confirm_run_now", "run_now_reason"):
                del self.fields[name]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("target") == self.TARGET_DEVICES and not cleaned.get("devices"):
            self.add_error("devices", "Choose at least one device.")
        if cleaned.get("run_now"):
            if not cleaned.get("confirm_run_now"):
                self.add_error("confirm_run_now", "Confirm the emergency override, or leave “Run now” off.")
            if not cleaned.get("run_now_reason", "").strip():
                self.add_error("run_now_reason", "Say why this cannot wait for the maintenance window.")
        return cleaned

    def plan_kwargs(self) -> dict:
        """The keywords of deployments.planning.create_deployment."""
        data = self.cleaned_data
        to_devices = data["target"] == self.TARGET_DEVICES
        return {
            "name": data["name"],
            "patches": list(data["patches"]),
            "rings": None if to_devices or not data["rings"] else list(data["rings"]),
            "devices": list(data["devices"]) if to_devices else None,
            "batch_size": data["batch_size"],
            "max_concurrent": data["max_concurrent"],
            "batch_interval_minutes": data["batch_interval_minutes"],
            "max_attempts": data["max_attempts"],
            "catch_up": data["catch_up"],
            "allow_rollback": data["allow_rollback"],
            "dry_run": data["dry_run"],
            "run_now": bool(data.get("run_now")),
        }
