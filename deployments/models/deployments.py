"""Deployments: approved patches rolled out to rings (or chosen devices), stage by stage."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import TenantOwnedModel

__all__ = ["Deployment", "DeploymentPatch", "DeploymentStage", "DeploymentTarget"]


class Deployment(TenantOwnedModel):
    """A set of patches going to a tenant's devices through its stages, in order.

    The database is the source of truth: every transition is a row update, and the
    periodic sweep (deployments.tasks) picks up whatever a lost task left behind.
    """

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        HALTED = "halted", "Halted"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class Origin(models.TextChoices):
        MANUAL = "manual", "By a person"
        POLICY = "policy", "By policy"

    class CatchUp(models.TextChoices):
        NEXT_WINDOW = "next_window", "In the device's next window"
        ON_RETURN = "on_return", "As soon as the device is back"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="deployments")
    name = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.MANUAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    batch_size = models.PositiveIntegerField(default=50, help_text="Devices released per batch.")
    max_concurrent = models.PositiveIntegerField(default=100, help_text="Jobs in flight at once.")
    batch_interval_minutes = models.PositiveIntegerField(default=5)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    catch_up = models.CharField(max_length=12, choices=CatchUp.choices, default=CatchUp.NEXT_WINDOW)
    run_now = models.BooleanField(default=False, help_text="Emergency: ignore maintenance windows.")
    dry_run = models.BooleanField(default=False, help_text="Agents report what they would do and change nothing.")
    allow_rollback = models.BooleanField(default=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    halted_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["tenant_id", "-created_at"]
        indexes = [models.Index(fields=["state"], name="deployment_state")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.SCHEDULED, self.State.RUNNING)


class DeploymentPatch(TenantOwnedModel):
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="deployment_patches")
    patch = models.ForeignKey("patches.Patch", on_delete=models.PROTECT, related_name="+")

    audited = False

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deployment", "patch"], name="deployment_patch_unique")]


class DeploymentTarget(TenantOwnedModel):
    """A device chosen by hand. A deployment to rings has none (its rings say who), except an
    automatic one: its targets are the only devices its rings' stages take."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="targets")
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="+")

    audited = False

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deployment", "device"], name="deployment_target_unique")]


class DeploymentStage(TenantOwnedModel):
    """One ring of a deployment (or its chosen devices), with the ring's gate as it was."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for the previous ring"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        SOAKING = "soaking", "Soaking"
        PASSED = "passed", "Passed"
        HALTED = "halted", "Halted"
        CANCELLED = "cancelled", "Cancelled"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="stages")
    ring = models.ForeignKey("deployments.Ring", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    soak_hours = models.PositiveIntegerField(default=0)
    gate_min_success_percent = models.PositiveSmallIntegerField(default=0)
    gate_min_devices = models.PositiveIntegerField(default=0)
    halt_failure_percent = models.PositiveSmallIntegerField(default=100)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    soak_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    devices_total = models.PositiveIntegerField(default=0)

    audited = False

    class Meta:
        ordering = ["deployment_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "position"], name="stage_position_unique"),
        ]
        indexes = [models.Index(fields=["state"], name="stage_state", condition=~Q(state__in=["passed", "cancelled"]))]

    def __str__(self) -> str:
        return f"{self.deployment} / {self.name}"
