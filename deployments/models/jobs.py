"""Jobs: one device's part of a deployment, claimed by its agent under a lease."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import TenantOwnedModel

__all__ = ["ACTIVE_STATES", "FINAL_STATES", "Job", "JobEvent", "JobKind", "JobState"]


class JobKind(models.TextChoices):
    INSTALL = "install", "Install"
    REBOOT = "reboot", "Reboot"
    ROLLBACK = "rollback", "Roll back"


class JobState(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its window and batch
    QUEUED = "queued", "Queued"  # released: the agent receives it at its next check-in
    CLAIMED = "claimed", "Claimed"  # an agent holds the lease
    RUNNING = "running", "Running"
    REBOOT_PENDING = "reboot_pending", "Reboot pending"
    SUCCEEDED = "succeeded", "Succeeded"  # the agent says so; verified by the next inventory
    VERIFIED = "verified", "Verified"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"
    CANCELLED = "cancelled", "Cancelled"


# An agent works on these; the sweep watches their leases.
ACTIVE_STATES = [JobState.CLAIMED, JobState.RUNNING]
FINAL_STATES = [JobState.VERIFIED, JobState.FAILED, JobState.TIMED_OUT, JobState.CANCELLED]


class Job(TenantOwnedModel):
    """Install (or reboot, or roll back) a set of patches on one device.

    `attempt` counts claims; a lease that expires without a result sends the job back to
    queued (until `max_attempts`) with back-off in `not_before`. `result_key` makes results
    idempotent: the agent sends the same key again when it retries a post.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    deployment = models.ForeignKey(
        "deployments.Deployment", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    # No single-column indexes on stage and device: job_stage_state and job_device_state lead
    # with them and serve the same lookups, and every claim updates every index of the row.
    stage = models.ForeignKey(
        "deployments.DeploymentStage",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="jobs",
        db_index=False,
    )
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="jobs", db_index=False)
    kind = models.CharField(max_length=8, choices=JobKind.choices, default=JobKind.INSTALL)
    state = models.CharField(max_length=14, choices=JobState.choices, default=JobState.PENDING)
    batch = models.PositiveIntegerField(default=0)
    payload = models.JSONField(default=dict, help_text="What to install: packages, KBs, scripts, reboot rule.")
    not_before = models.DateTimeField(null=True, blank=True)
    not_after = models.DateTimeField(null=True, blank=True, help_text="The end of its window.")
    attempt = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    lease_id = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    output = models.TextField(blank=True)
    result_key = models.CharField(max_length=64, blank=True)
    reboot_required = models.BooleanField(default=False)
    rollback_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rollback"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    audited = False  # JobEvent is the job's history

    class Meta:
        ordering = ["tenant_id", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "device", "kind"],
                condition=Q(kind="install"),
                name="job_one_install_per_device",
            ),
        ]
        indexes = [
            models.Index(fields=["device", "state"], name="job_device_state"),
            models.Index(fields=["lease_expires_at"], name="job_lease", condition=Q(state__in=["claimed", "running"])),
            models.Index(fields=["stage", "state"], name="job_stage_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.device_id} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class JobEvent(TenantOwnedModel):
    """One line of a job's log: a state change, the agent's progress or its output."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=14, choices=JobState.choices)
    message = models.TextField(blank=True)

    audited = False

    class Meta:
        ordering = ["job_id", "at", "id"]
