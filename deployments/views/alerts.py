"""Alerts (MSP staff: their clients' alerts and the MSP-wide ones) and alert channels (MSP admins)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from advisories.access import MspView, msp_can
from deployments.alert_forms import AlertChannelForm
from deployments.alerts import send_test_alert
from deployments.models import Alert, AlertChannel, AlertDelivery
from portal.db_scope import system_scope
from portal.views import htmx_redirect
from tenants import audit
from tenants.models import AuditEntry

__all__ = [
    "AlertAcknowledgeView",
    "AlertChannelDeleteView",
    "AlertChannelEditView",
    "AlertChannelListView",
    "AlertChannelTestView",
    "AlertListView",
    "visible_alerts",
]

PAGE_SIZE = 50


def visible_alerts(access):
    """The alerts of the tenants where `access` may view alerts, and the MSP-wide ones."""
    if access.all_tenants:
        return Alert.objects.all()
    tenants = sorted(t for t in access.tenant_ids if access.can(t, "alert.view"))
    return Alert.objects.filter(Q(tenant__isnull=True) | Q(tenant_id__in=tenants))


def _with_deliveries(alerts):
    return alerts.select_related("tenant", "acknowledged_by").annotate(
        sent=Count("deliveries", filter=Q(deliveries__state=AlertDelivery.State.SENT)),
        failed=Count("deliveries", filter=Q(deliveries__state=AlertDelivery.State.FAILED)),
        pending=Count("deliveries", filter=Q(deliveries__state=AlertDelivery.State.PENDING)),
    )


class AlertListView(MspView, View):
    msp_capability = "alert.view"

    def get(self, request):
        show = request.GET.get("show", "open")
        alerts = visible_alerts(request.access)
        if show != "all":
            show = "open"
            alerts = alerts.filter(acknowledged_at__isnull=True)
        page = Paginator(_with_deliveries(alerts).order_by("-created_at", "-id"), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        context = {
            "page": page,
            "show": show,
            "can_manage": msp_can(request.access, "alert.manage"),
        }
        response = render(request, "deployments/alert_list.html", context)
        response["Vary"] = "HX-Request"
        return response


class AlertAcknowledgeView(MspView, View):
    """POST: mark the alert seen (audited); htmx gets the refreshed row."""

    msp_capability = "alert.view"
    http_method_names = ["post"]

    def post(self, request, pk):
        alert = visible_alerts(request.access).filter(pk=pk).first()
        if alert is None:
            raise Http404("No such alert")
        now = timezone.now()
        # MSP-wide alerts are written in the all-tenants scope (row-level security's rule for
        # rows without a tenant); who may acknowledge was decided above.
        with system_scope():
            done = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
                acknowledged_at=now, acknowledged_by=request.user
            )
            if done:
                audit.record("alert.acknowledge", alert, message=alert.title)
        if not request.htmx:
            if done:
                messages.success(request, f"Acknowledged: {alert.title}")
            return redirect("alert_list")
        row = _with_deliveries(visible_alerts(request.access)).get(pk=alert.pk)
        return render(request, "deployments/_alert_row.html", {"alert": row})


def _last_tests(channels) -> dict[str, AuditEntry]:
    """The newest "send test" outcome per channel, from the audit log."""
    ids = [str(c.pk) for c in channels]
    entries = AuditEntry.objects.filter(
        action="alert_channel.test", object_type="deployments.alertchannel", object_id__in=ids
    ).order_by("object_id", "-at", "-id")
    latest: dict[str, AuditEntry] = {}
    for entry in entries:
        latest.setdefault(entry.object_id, entry)
    return latest


class AlertChannelListView(MspView, View):
    msp_capability = "alert.manage"

    def get(self, request):
        channels = list(
            AlertChannel.objects.select_related("tenant")
            .annotate(failed=Count("deliveries", filter=Q(deliveries__state=AlertDelivery.State.FAILED)))
            .order_by("tenant__name", "name")
        )
        tests = _last_tests(channels)
        for channel in channels:
            channel.last_test = tests.get(str(channel.pk))
        return render(request, "deployments/alert_channel_list.html", {"channels": channels})


class AlertChannelEditView(MspView, View):
    """Add a channel (no pk) or edit one; saves are audited (the target URL itself is not logged)."""

    msp_capability = "alert.manage"
    template_name = "deployments/alert_channel_form.html"

    def _channel(self, pk):
        return get_object_or_404(AlertChannel, pk=pk) if pk is not None else None

    def get(self, request, pk=None):
        channel = self._channel(pk)
        return render(request, self.template_name, {"form": AlertChannelForm(instance=channel), "channel": channel})

    def post(self, request, pk=None):
        channel = self._channel(pk)
        form = AlertChannelForm(request.POST, instance=channel)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form, "channel": channel}, status=400)
        saved = form.save()
        messages.success(request, f"{saved.name} saved.")
        return htmx_redirect(request, reverse("alert_channel_list"))


class AlertChannelDeleteView(MspView, View):
    msp_capability = "alert.manage"

    def get(self, request, pk):
        channel = get_object_or_404(AlertChannel, pk=pk)
        return render(request, "deployments/alert_channel_delete.html", {"channel": channel})

    def post(self, request, pk):
        channel = get_object_or_404(AlertChannel, pk=pk)
        channel.delete()
        messages.success(request, f"{channel.name} deleted.")
        return htmx_redirect(request, reverse("alert_channel_list"))


class AlertChannelTestView(MspView, View):
    """POST: send a test alert through the channel in the background; the outcome lands in the audit log."""

    msp_capability = "alert.manage"
    http_method_names = ["post"]

    def post(self, request, pk):
        channel = get_object_or_404(AlertChannel, pk=pk)
        user_id, label = request.user.pk, request.user.get_username()
        transaction.on_commit(lambda: send_test_alert.delay(channel.pk, user_id, label))
        messages.success(request, f"Test alert to {channel.name} queued; reload to see how it went.")
        return htmx_redirect(request, reverse("alert_channel_list"))
