"""Alerts and where they go: the portal, e-mail, webhooks (generic JSON, Slack, Teams)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from tenants.models import TenantOwnedModel

__all__ = ["Alert", "AlertChannel", "AlertDelivery", "AlertKind"]


class AlertKind(models.TextChoices):
    DEPLOYMENT_HALTED = "deployment_halted", "Deployment halted"
    DEPLOYMENT_FAILED = "deployment_failed", "Deployment failed"
    HEALTH_FAILED = "health_failed", "Health check failed"
    KEV_FINDING = "kev_finding", "New KEV finding"
    FEED_FAILED = "feed_failed", "Feed failed to sync"
    REPORT_DELIVERY_FAILED = "report_failed", "Report delivery failed"


class Alert(TenantOwnedModel):
    """Something a technician must look at; tenantless alerts (feeds) are MSP-wide."""

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.WARNING)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True, help_text="A path in the portal.")
    dedupe_key = models.CharField(max_length=200, help_text="One alert per key.")
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["dedupe_key"], name="alert_dedupe")]

    def __str__(self) -> str:
        return self.title


class AlertChannel(TenantOwnedModel):
    """A destination for alerts of some kinds: MSP-wide (no tenant) or one tenant's."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook (JSON)"
        SLACK = "slack", "Slack incoming webhook"
        TEAMS = "teams", "Microsoft Teams webhook"

    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    target = models.CharField(max_length=500, help_text="E-mail addresses (comma-separated) or the webhook URL.")
    kinds = ArrayField(models.CharField(max_length=20, choices=AlertKind.choices), default=list, blank=True)
    enabled = models.BooleanField(default=True)

    audit_exclude = ("target",)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AlertDelivery(TenantOwnedModel):
    """One alert sent (or being retried) to one channel."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    audited = False

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "channel"], name="alert_delivery_unique")]
