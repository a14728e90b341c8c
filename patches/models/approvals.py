"""Decisions about patches: approved, rejected, deferred, per scope (see patches.approvals)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patches.models.scoping import ScopedModel, scope_constraints

__all__ = ["Approval", "ApprovalOrigin", "ApprovalState"]


class ApprovalState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    DEFERRED = "deferred", "Deferred"
    SUPERSEDED = "superseded", "Superseded"
    EXPIRED = "expired", "Expired"


# Closed approvals are history; at most one open approval per patch and scope target.
CLOSED_STATES = [ApprovalState.SUPERSEDED, ApprovalState.EXPIRED]


class ApprovalOrigin(models.TextChoices):
    MANUAL = "manual", "By a person"
    POLICY = "policy", "By policy"


class Approval(ScopedModel):
    """Whether a patch may be installed at a scope.

    `deferred` holds until `defer_until`, a date in the tenant's time zone (a global
    approval's deferral ends on that date in each tenant's own zone). A pending approval
    that needs the client's sign-off is sent to the tenant's client owners
    (`client_requested_at`); their decision approves or rejects it.
    """

    patch = models.ForeignKey("patches.Patch", on_delete=models.CASCADE, related_name="approvals")
    state = models.CharField(max_length=12, choices=ApprovalState.choices, default=ApprovalState.PENDING)
    origin = models.CharField(max_length=8, choices=ApprovalOrigin.choices, default=ApprovalOrigin.MANUAL)
    policy = models.ForeignKey(
        "patches.PatchPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="approvals"
    )
    rule = models.CharField(max_length=200, blank=True, help_text="The auto-approve rule that matched.")
    defer_until = models.DateField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    needs_client = models.BooleanField(default=False)
    client_requested_at = models.DateTimeField(null=True, blank=True)
    client_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_decided_at = models.DateTimeField(null=True, blank=True)
    client_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            *scope_constraints("approval"),
            models.UniqueConstraint(
                fields=["patch", "scope", "tenant", "site", "group", "device"],
                condition=~Q(state__in=CLOSED_STATES),
                nulls_distinct=False,
                name="approval_one_open_per_target",
            ),
            models.CheckConstraint(
                name="approval_rejection_has_comment",
                condition=~Q(state=ApprovalState.REJECTED) | ~Q(comment=""),
            ),
            models.CheckConstraint(
                name="approval_deferral_has_date",
                condition=~Q(state=ApprovalState.DEFERRED) | Q(defer_until__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "state"], name="approval_tenant_state"),
            models.Index(fields=["patch", "state"], name="approval_patch_state"),
        ]

    def __str__(self) -> str:
        return f"{self.patch} {self.get_state_display().lower()} for {self.scope_label}"

    @property
    def awaiting_client(self) -> bool:
        return self.state == ApprovalState.PENDING and self.needs_client and self.client_requested_at is not None
