"""Client reports: the MSP's branding, and each rendered report with its data snapshot and PDF."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import TenantOwnedModel
from tenants.models.audit import AuditedModel

__all__ = ["Branding", "Report", "ReportKind", "ReportState"]

colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour as #rrggbb.")


class Branding(AuditedModel):
    """How the MSP presents itself on every report page: one row for the installation."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    name = models.CharField(max_length=200, default="Managed Services")
    logo = models.FileField(upload_to="branding/", blank=True, help_text="PNG, JPEG or SVG.")
    primary_colour = models.CharField(max_length=7, default="#1f3a5f", validators=[colour])
    accent_colour = models.CharField(max_length=7, default="#e07a1f", validators=[colour])
    contact_line = models.CharField(max_length=300, blank=True, help_text="E.g. phone, e-mail and web site.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "branding"
        constraints = [models.CheckConstraint(name="branding_singleton", condition=Q(id=1))]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def load(cls) -> Branding:
        """The installation's branding (the defaults, unsaved, until someone sets it)."""
        return cls.objects.filter(pk=cls.SINGLETON_ID).first() or cls()


class ReportKind(models.TextChoices):
    MONTHLY = "monthly", "Monthly summary"
    DEPLOYMENT = "deployment", "Deployment summary"
    EXECUTIVE = "executive", "Executive summary"


class ReportState(models.TextChoices):
    RENDERING = "rendering", "Rendering"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Report(TenantOwnedModel):
    """One report for a client: the data it was built from (`data`, JSON), and its PDF.

    The PDF is rendered from `data` alone (reports.rendering), so it can be rendered again
    later and compared with `sha256`.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=12, choices=ReportKind.choices)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive.")
    deployment = models.ForeignKey(
        "deployments.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True, help_text="The snapshot the PDF is rendered from.")
    pdf = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=ReportState.choices, default=ReportState.RENDERING)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    audit_exclude = ("data", "error")

    class Meta:
        ordering = ["tenant_id", "-created_at"]
        indexes = [models.Index(fields=["tenant", "kind", "-created_at"], name="report_tenant_kind")]
        constraints = [
            models.CheckConstraint(
                name="report_deployment_kind",
                condition=Q(kind="deployment") | Q(deployment__isnull=True),
            ),
            models.CheckConstraint(name="report_period_order", condition=Q(period_start__lte=models.F("period_end"))),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start:%Y-%m-%d} to {self.period_end:%Y-%m-%d}"
