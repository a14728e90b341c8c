"""Client reports: the MSP's branding, each rendered report with its data snapshot and PDF, and the
schedules that e-mail reports to clients with the log of those e-mails."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import TenantOwnedModel
from tenants.models.audit import AuditedModel

__all__ = [
    "Branding",
    "DeliveryState",
    "DeliveryVia",
    "Report",
    "ReportDelivery",
    "ReportKind",
    "ReportSchedule",
    "ReportState",
    "ScheduleCadence",
    "Weekday",
]

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


class ScheduleCadence(models.TextChoices):
    AFTER_DEPLOYMENT = "deployment", "After each deployment"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class ReportSchedule(TenantOwnedModel):
    """A report e-mailed to a client regularly: after each deployment, weekly or monthly.

    Times are wall-clock times in the tenant's time zone (reports.schedules.next_run). A deployment
    summary goes out after each deployment; monthly and executive summaries go weekly or monthly.
    `next_run_at` is kept by the scheduler (reports.delivery), never by hand.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="report_schedules")
    kind = models.CharField(max_length=12, choices=ReportKind.choices)
    cadence = models.CharField(max_length=10, choices=ScheduleCadence.choices)
    weekday = models.PositiveSmallIntegerField(null=True, blank=True, choices=Weekday.choices)
    day_of_month = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text="1 to 31; in shorter months a later day means the month's last day.",
    )
    time_of_day = models.TimeField(default=dt.time(8, 0), help_text="In the client's time zone.")
    include_client_owners = models.BooleanField(
        default=True, help_text="Send to every client owner of this client (as they are when it is sent)."
    )
    extra_recipients = ArrayField(models.EmailField(), default=list, blank=True)
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The scheduler moves these on with QuerySet.update(); edits by people are audited.
    audit_exclude = ("next_run_at", "last_run_at")

    class Meta:
        ordering = ["tenant_id", "kind", "pk"]
        indexes = [models.Index(fields=["next_run_at"], name="report_schedule_due", condition=Q(enabled=True))]
        constraints = [
            models.CheckConstraint(
                name="report_schedule_cadence_kind",
                condition=(Q(cadence="deployment") & Q(kind="deployment"))
                | (~Q(cadence="deployment") & ~Q(kind="deployment")),
            ),
            models.CheckConstraint(
                name="report_schedule_weekday",
                condition=~Q(cadence="weekly") | Q(weekday__gte=0, weekday__lte=6),
            ),
            models.CheckConstraint(
                name="report_schedule_day_of_month",
                condition=~Q(cadence="monthly") | Q(day_of_month__gte=1, day_of_month__lte=31),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}, {self.describe()}"

    def describe(self) -> str:
        """When it goes out, in words: "weekly on Monday at 08:00"."""
        at = self.time_of_day.strftime("%H:%M")
        if self.cadence == ScheduleCadence.WEEKLY and self.weekday is not None:
            return f"weekly on {Weekday(self.weekday).label} at {at}"
        if self.cadence == ScheduleCadence.MONTHLY and self.day_of_month:
            day = self.day_of_month
            suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
            return f"monthly on the {day}{suffix} at {at}" + (" (or the month's last day)" if day > 28 else "")
        return "after each deployment"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class DeliveryVia(models.TextChoices):
    ATTACHMENT = "attachment", "PDF attached"
    LINK = "link", "Download link"


class ReportDelivery(TenantOwnedModel):
    """One report e-mail of a schedule (one run, or one deployment), and its attempts.

    The report is created and rendered at the first attempt; later attempts send the same one.
    After settings.REPORT_DELIVERY_ATTEMPTS failed attempts the delivery is `failed` and shown to
    the MSP's staff, who may retry it.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey(
        ReportSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    kind = models.CharField(max_length=12, choices=ReportKind.choices)
    deployment = models.ForeignKey(
        "deployments.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheduled_for = models.DateTimeField(help_text="The run it belongs to (or when the deployment ended).")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries")
    recipients = ArrayField(models.EmailField(), default=list, blank=True)
    state = models.CharField(max_length=8, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    via = models.CharField(max_length=10, choices=DeliveryVia.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While an attempt runs: a second worker (a duplicate message, a retry clicked twice) skips it.
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    audited = False

    class Meta:
        ordering = ["tenant_id", "-scheduled_for", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "state", "-scheduled_for"], name="report_delivery_tenant"),
            models.Index(fields=["next_attempt_at"], name="report_delivery_pending", condition=Q(state="pending")),
        ]
        constraints = [
            # One delivery per run of a schedule, and one per deployment: never two e-mails for one.
            models.UniqueConstraint(
                fields=["schedule", "scheduled_for"],
                name="report_delivery_once_per_run",
                condition=Q(deployment__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["schedule", "deployment"],
                name="report_delivery_once_per_deployment",
                condition=Q(deployment__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.scheduled_for:%Y-%m-%d %H:%M} UTC"
