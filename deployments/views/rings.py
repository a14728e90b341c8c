"""A tenant's rings: MSP staff read and manage them (ring.view, ring.manage)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from deployments.forms import RingForm
from deployments.models import Ring, RingMember
from deployments.planning import ring_assignment
from portal.views import TenantView, htmx_redirect
from tenants.access import get_object

__all__ = ["RingDeleteView", "RingEditView", "RingListView"]


class RingListView(TenantView, View):
    capability = "ring.view"

    def get(self, request, tenant_slug):
        rings = list(
            Ring.objects.in_tenant(self.tenant)
            .annotate(
                group_count=Count("members", filter=Q(members__group__isnull=False)),
                device_count=Count("members", filter=Q(members__device__isnull=False)),
            )
            .prefetch_related("windows")
            .order_by("position")
        )
        members = RingMember.objects.filter(ring__in=rings).select_related("group", "device")
        by_ring: dict[int, list] = {}
        for member in members:
            by_ring.setdefault(member.ring_id, []).append(member.group or member.device)
        held: dict[int, int] = {}
        for ring in ring_assignment(self.tenant).values():
            held[ring.pk] = held.get(ring.pk, 0) + 1
        for ring in rings:
            ring.member_list = sorted(by_ring.get(ring.pk, []), key=str)
            ring.devices_now = held.get(ring.pk, 0)
        context = {
            "tenant": self.tenant,
            "rings": rings,
            "can_manage": request.access.can(self.tenant.pk, "ring.manage"),
        }
        return render(request, "deployments/ring_list.html", context)


class RingEditView(TenantView, View):
    """Create (no pk) or edit a ring and its members."""

    capability = "ring.manage"

    def _ring(self, pk):
        if pk is None:
            return None
        return get_object(self.request.access, Ring.objects.in_tenant(self.tenant), "ring.manage", pk=pk)

    def show(self, form, status=200):
        context = {"tenant": self.tenant, "form": form, "ring": form.instance if form.instance.pk else None}
        return render(self.request, "deployments/ring_form.html", context, status=status)

    def get(self, request, tenant_slug, pk=None):
        return self.show(RingForm(instance=self._ring(pk), tenant=self.tenant))

    def post(self, request, tenant_slug, pk=None):
        form = RingForm(request.POST, instance=self._ring(pk), tenant=self.tenant)
        if not form.is_valid():
            return self.show(form, status=400)
        ring = form.save()
        messages.success(request, f"Ring “{ring}” saved.")
        return htmx_redirect(request, reverse("ring_list", kwargs={"tenant_slug": self.tenant.slug}))


class RingDeleteView(TenantView, View):
    capability = "ring.manage"

    def get(self, request, tenant_slug, pk):
        ring = get_object(request.access, Ring.objects.in_tenant(self.tenant), "ring.manage", pk=pk)
        return render(request, "confirm_delete.html", {"tenant": self.tenant, "object": ring, "kind": "ring"})

    def post(self, request, tenant_slug, pk):
        ring = get_object(request.access, Ring.objects.in_tenant(self.tenant), "ring.manage", pk=pk)
        name = str(ring)
        ring.delete()
        messages.success(request, f"Ring “{name}” deleted. Running deployments keep their stages.")
        return htmx_redirect(request, reverse("ring_list", kwargs={"tenant_slug": self.tenant.slug}))
