"""A tenant's accepted risks: everyone in the tenant reads them, MSP staff accept and revoke them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from advisories.access import msp_can
from advisories.models import Advisory
from devices.models import Device
from patches import risk_acceptance
from patches.exception_listing import ACTIVE, EXPIRED, REVOKED, local_today, status, with_covered_counts
from patches.forms.exceptions import RiskExceptionForm
from patches.models import Finding, FindingState, RiskException
from portal.views import TenantView, htmx_redirect
from tenants.access import get_object

__all__ = ["ExceptionCreateView", "ExceptionListView", "ExceptionRevokeView"]


class ExceptionListView(TenantView, View):
    capability = "exception.view"

    def get(self, request, tenant_slug):
        exceptions = with_covered_counts(
            RiskException.objects.in_tenant(self.tenant).select_related(
                "finding__device", "device", "advisory", "owner", "created_by", "revoked_by"
            )
        ).order_by("expires_on", "id")
        today = local_today(self.tenant)
        groups = {ACTIVE: [], EXPIRED: [], REVOKED: []}
        for exception in exceptions:
            groups[status(exception, today)].append(exception)
        context = {
            "tenant": self.tenant,
            "groups": [
                ("Active", ACTIVE, groups[ACTIVE]),
                ("Expired", EXPIRED, sorted(groups[EXPIRED], key=lambda e: e.expires_on, reverse=True)),
                ("Revoked", REVOKED, sorted(groups[REVOKED], key=lambda e: e.revoked_at, reverse=True)),
            ],
            "today": today,
            "can_manage": request.access.can(self.tenant.pk, "exception.manage"),
            "link_advisories": msp_can(request.access, "advisory.view"),
        }
        return render(request, "patches/exception_list.html", context)


class ExceptionCreateView(TenantView, View):
    """The form; `?finding=<id>`, `?device=<uid>` or `?advisory=<id>` choose the target ahead."""

    capability = "exception.manage"
    template_name = "patches/exception_form.html"

    def _initial(self, request) -> dict:
        ask = request.GET
        findings = Finding.objects.in_tenant(self.tenant).filter(state=FindingState.OPEN).select_related("device")
        if ask.get("finding", "").isdigit() and (finding := findings.filter(pk=ask["finding"]).first()):
            return {"covers": RiskException.Covers.FINDING, "finding": finding}
        if ask.get("device") and (device := self._device(ask["device"])):
            return {"covers": RiskException.Covers.DEVICE, "device": device}
        if ask.get("advisory") and (advisory := Advisory.objects.filter(advisory_id=ask["advisory"]).first()):
            return {"covers": RiskException.Covers.ADVISORY, "advisory": advisory}
        return {}

    def _device(self, uid):
        try:
            return Device.objects.in_tenant(self.tenant).active().filter(uid=uid).first()
        except ValidationError:  # not a UUID
            return None

    def get(self, request, tenant_slug):
        form = RiskExceptionForm(initial=self._initial(request), tenant=self.tenant, user=request.user)
        return self.show(request, form)

    def show(self, request, form, status=200):
        return render(request, self.template_name, {"tenant": self.tenant, "form": form}, status=status)

    def post(self, request, tenant_slug):
        form = RiskExceptionForm(request.POST, tenant=self.tenant, user=request.user)
        if not form.is_valid():
            return self.show(request, form, status=400)
        data = form.cleaned_data
        try:
            exception = risk_acceptance.accept_risk(
                tenant=self.tenant,
                owner=data["owner"],
                reason=data["reason"],
                expires_on=data["expires_on"],
                user=request.user,
                now=timezone.now(),
                **form.target(),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
            return self.show(request, form, status=400)
        messages.success(request, f"{exception} recorded until {exception.expires_on:%Y-%m-%d}.")
        return htmx_redirect(request, reverse("exception_list", kwargs={"tenant_slug": self.tenant.slug}))


class ExceptionRevokeView(TenantView, View):
    capability = "exception.manage"

    def post(self, request, tenant_slug, pk):
        exception = get_object(request.access, RiskException.objects.in_tenant(self.tenant), "exception.manage", pk=pk)
        try:
            risk_acceptance.revoke(exception, user=request.user, now=timezone.now())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{exception} revoked; the findings it covered are open again.")
        return htmx_redirect(request, reverse("exception_list", kwargs={"tenant_slug": self.tenant.slug}))
