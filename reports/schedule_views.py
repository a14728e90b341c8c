"""Report schedules of a tenant and the log of their e-mails (MSP staff: `report.manage`).

Schedules are created, edited and deleted here; the scheduler (reports.delivery) runs them.
The delivery log lists failed e-mails first, each with a "retry" button.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from portal.views import TenantView, htmx_redirect
from reports import delivery as deliveries
from reports.forms import ReportScheduleForm
from reports.models import DeliveryState, ReportDelivery, ReportSchedule
from reports.schedules import next_run
from tenants.access import get_object

__all__ = [
    "ReportDeliveryListView",
    "ReportDeliveryRetryView",
    "ReportScheduleDeleteView",
    "ReportScheduleEditView",
    "ReportScheduleListView",
]

RECENT_DELIVERIES = 100


def _schedules_url(tenant) -> str:
    return reverse("report_schedule_list", kwargs={"tenant_slug": tenant.slug})


class ReportScheduleListView(TenantView, View):
    capability = "report.manage"

    def get(self, request, tenant_slug):
        context = {
            "tenant": self.tenant,
            "schedules": ReportSchedule.objects.in_tenant(self.tenant).order_by("kind", "pk"),
            "failed": ReportDelivery.objects.in_tenant(self.tenant).filter(state=DeliveryState.FAILED).count(),
        }
        return render(request, "reports/portal/schedule_list.html", context)


class ReportScheduleEditView(TenantView, View):
    """Create (no pk) or edit a schedule; its next run is computed when it is saved."""

    capability = "report.manage"

    def _schedule(self, pk):
        if pk is None:
            return None
        queryset = ReportSchedule.objects.in_tenant(self.tenant).select_related("tenant")
        return get_object(self.request.access, queryset, "report.manage", pk=pk)

    def show(self, form, status=200):
        context = {"tenant": self.tenant, "form": form, "schedule": form.instance if form.instance.pk else None}
        return render(self.request, "reports/portal/schedule_form.html", context, status=status)

    def get(self, request, tenant_slug, pk=None):
        return self.show(ReportScheduleForm(instance=self._schedule(pk), tenant=self.tenant))

    def post(self, request, tenant_slug, pk=None):
        form = ReportScheduleForm(request.POST, instance=self._schedule(pk), tenant=self.tenant)
        if not form.is_valid():
            return self.show(form, status=400)
        schedule = form.save(commit=False)
        if schedule.pk is None:
            schedule.created_by = request.user
        schedule.next_run_at = next_run(schedule, timezone.now())
        schedule.save()  # audited (what changed, by whom); next_run_at is left out of the log
        when = ""
        if schedule.next_run_at:
            local = timezone.localtime(schedule.next_run_at, self.tenant.time_zone)
            when = f" Next: {local:%Y-%m-%d %H:%M} ({self.tenant.time_zone})."
        messages.success(request, f"Schedule saved: {schedule}.{when}")
        return htmx_redirect(request, _schedules_url(self.tenant))


class ReportScheduleDeleteView(TenantView, View):
    """Deleting a schedule keeps its delivery log."""

    capability = "report.manage"

    def _schedule(self, pk):
        return get_object(self.request.access, ReportSchedule.objects.in_tenant(self.tenant), "report.manage", pk=pk)

    def get(self, request, tenant_slug, pk):
        context = {"tenant": self.tenant, "object": self._schedule(pk), "kind": "report schedule"}
        return render(request, "confirm_delete.html", context)

    def post(self, request, tenant_slug, pk):
        schedule = self._schedule(pk)
        label = str(schedule)
        schedule.delete()
        messages.success(request, f"Schedule “{label}” deleted.")
        return htmx_redirect(request, _schedules_url(self.tenant))


class ReportDeliveryListView(TenantView, View):
    """Every failed e-mail (until it is retried), then the most recent ones."""

    capability = "report.manage"

    def get(self, request, tenant_slug):
        base = ReportDelivery.objects.in_tenant(self.tenant).select_related("schedule", "deployment")
        context = {
            "tenant": self.tenant,
            "failed": list(base.filter(state=DeliveryState.FAILED).order_by("-scheduled_for", "-pk")),
            "recent": list(
                base.exclude(state=DeliveryState.FAILED).order_by("-scheduled_for", "-pk")[:RECENT_DELIVERIES]
            ),
            "recent_limit": RECENT_DELIVERIES,
        }
        return render(request, "reports/portal/delivery_list.html", context)


class ReportDeliveryRetryView(TenantView, View):
    """Try a failed e-mail again: fresh attempts, to the schedule's current recipients."""

    capability = "report.manage"
    http_method_names = ["post"]

    def post(self, request, tenant_slug, pk):
        queryset = ReportDelivery.objects.in_tenant(self.tenant).select_related("schedule__tenant", "tenant")
        delivery = get_object(request.access, queryset, "report.manage", pk=pk)
        if deliveries.retry(delivery, now=timezone.now()):
            messages.success(request, f"{delivery} is being sent again.")
        elif delivery.state == DeliveryState.FAILED:
            messages.error(request, f"{delivery} has no recipients: add some to its schedule first.")
        else:
            messages.info(request, f"{delivery} is not failed; nothing to retry.")
        return htmx_redirect(request, reverse("report_delivery_list", kwargs={"tenant_slug": self.tenant.slug}))
