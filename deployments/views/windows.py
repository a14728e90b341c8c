"""Maintenance windows, blackout periods and the calendar of a tenant's next openings.

Everyone in the tenant reads them (window.view): clients may know when their machines
install and reboot. MSP staff manage them (window.manage).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from deployments import windows
from deployments.forms import BlackoutForm, MaintenanceWindowForm
from deployments.forms.windows import describe
from deployments.models import BlackoutPeriod, MaintenanceWindow
from portal.views import TenantView, htmx_redirect
from tenants.access import get_object

__all__ = [
    "BlackoutCreateView",
    "BlackoutDeleteView",
    "WindowCalendarView",
    "WindowDeleteView",
    "WindowEditView",
    "WindowListView",
]

CALENDAR_DAYS = 35


def _local_today(tenant):
    return timezone.now().astimezone(tenant.time_zone).date()


class WindowListView(TenantView, View):
    capability = "window.view"

    def get(self, request, tenant_slug):
        found = list(MaintenanceWindow.objects.in_tenant(self.tenant).prefetch_related("rings"))
        for window in found:
            window.summary = describe(window)
        today = _local_today(self.tenant)
        context = {
            "tenant": self.tenant,
            "windows": found,
            "blackouts": BlackoutPeriod.objects.in_tenant(self.tenant).filter(ends_on__gte=today).order_by("starts_on"),
            "past_blackouts": BlackoutPeriod.objects.in_tenant(self.tenant)
            .filter(ends_on__lt=today)
            .order_by("-starts_on")[:10],
            "can_manage": request.access.can(self.tenant.pk, "window.manage"),
            "blackout_form": BlackoutForm(tenant=self.tenant),
        }
        return render(request, "deployments/window_list.html", context)


class WindowEditView(TenantView, View):
    """Create (no pk) or edit a window. An htmx GET with `recurrence` answers the fields of that kind."""

    capability = "window.manage"

    def _window(self, pk):
        if pk is None:
            return None
        queryset = MaintenanceWindow.objects.in_tenant(self.tenant)
        return get_object(self.request.access, queryset, "window.manage", pk=pk)

    def show(self, form, status=200):
        context = {"tenant": self.tenant, "form": form, "window": form.instance if form.instance.pk else None}
        response = render(self.request, "deployments/window_form.html", context, status=status)
        response["Vary"] = "HX-Request"
        return response

    def get(self, request, tenant_slug, pk=None):
        window = self._window(pk)
        # The recurrence chosen (htmx), or the whole form sent back by "Show its fields" without JS.
        initial = {k: v for k, v in request.GET.items() if k in MaintenanceWindowForm.base_fields}
        for name in ("weekdays", "rings"):
            if name in request.GET:
                initial[name] = request.GET.getlist(name)
        form = MaintenanceWindowForm(instance=window, initial=initial, tenant=self.tenant)
        if request.htmx and "recurrence" in request.GET:
            response = render(request, "deployments/_window_recurrence.html", {"form": form})
            response["Vary"] = "HX-Request"
            return response
        return self.show(form)

    def post(self, request, tenant_slug, pk=None):
        form = MaintenanceWindowForm(request.POST, instance=self._window(pk), tenant=self.tenant)
        if not form.is_valid():
            return self.show(form, status=400)
        window = form.save()
        messages.success(request, f"Window “{window}” saved: {describe(window)}.")
        return htmx_redirect(request, reverse("window_list", kwargs={"tenant_slug": self.tenant.slug}))


class WindowDeleteView(TenantView, View):
    capability = "window.manage"

    def _window(self, pk):
        return get_object(self.request.access, MaintenanceWindow.objects.in_tenant(self.tenant), "window.manage", pk=pk)

    def get(self, request, tenant_slug, pk):
        context = {"tenant": self.tenant, "object": self._window(pk), "kind": "maintenance window"}
        return render(request, "confirm_delete.html", context)

    def post(self, request, tenant_slug, pk):
        window = self._window(pk)
        name = str(window)
        window.delete()
        messages.success(request, f"Window “{name}” deleted.")
        return htmx_redirect(request, reverse("window_list", kwargs={"tenant_slug": self.tenant.slug}))


class BlackoutCreateView(TenantView, View):
    capability = "window.manage"

    def get(self, request, tenant_slug):
        return self.show(BlackoutForm(tenant=self.tenant))

    def show(self, form, status=200):
        return render(
            self.request, "deployments/blackout_form.html", {"tenant": self.tenant, "form": form}, status=status
        )

    def post(self, request, tenant_slug):
        form = BlackoutForm(request.POST, tenant=self.tenant)
        if not form.is_valid():
            return self.show(form, status=400)
        blackout = form.save()
        messages.success(request, f"Blackout {blackout} added: nothing installs on those days.")
        return htmx_redirect(request, reverse("window_list", kwargs={"tenant_slug": self.tenant.slug}))


class BlackoutDeleteView(TenantView, View):
    capability = "window.manage"
    http_method_names = ["post"]

    def post(self, request, tenant_slug, pk):
        queryset = BlackoutPeriod.objects.in_tenant(self.tenant)
        blackout = get_object(request.access, queryset, "window.manage", pk=pk)
        label = str(blackout)
        blackout.delete()
        messages.success(request, f"Blackout {label} removed.")
        return htmx_redirect(request, reverse("window_list", kwargs={"tenant_slug": self.tenant.slug}))


class WindowCalendarView(TenantView, View):
    """The next five weeks of window occurrences, in the tenant's local time, with blackout days."""

    capability = "window.view"

    def get(self, request, tenant_slug):
        now = timezone.now()
        entries = windows.upcoming(self.tenant, now=now, days=CALENDAR_DAYS)
        zone = self.tenant.time_zone
        today = now.astimezone(zone).date()
        last = (now + dt.timedelta(days=CALENDAR_DAYS)).astimezone(zone).date()
        blackouts = list(
            BlackoutPeriod.objects.in_tenant(self.tenant)
            .filter(ends_on__gte=today, starts_on__lte=last)
            .order_by("starts_on")
        )
        days = []
        by_day: dict = {}
        for entry in entries:
            by_day.setdefault(entry.local_start.date(), []).append(entry)
        day = today
        while day <= last:
            blackout = next((b for b in blackouts if b.starts_on <= day <= b.ends_on), None)
            days.append({"date": day, "entries": by_day.get(day, []), "blackout": blackout})
            day += dt.timedelta(days=1)
        context = {
            "tenant": self.tenant,
            "days": days,
            "entries": entries,
            "blackouts": blackouts,
            "now_local": now.astimezone(zone),
        }
        return render(request, "deployments/window_calendar.html", context)
