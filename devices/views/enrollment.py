"""Enrollment: tokens for a tenant and the command to paste on a machine."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from devices.forms import EnrollmentTokenForm
from devices.models import EnrollmentToken
from portal.views import TenantView, _Can
from tenants.access import get_object


class EnrollmentView(TenantView, View):
    capability = "enrollment.manage"

    def get(self, request, tenant_slug, form=None, new_token=None, status=200):
        context = {
            "tenant": self.tenant,
            "can": _Can(request.access, self.tenant.pk),
            "tokens": EnrollmentToken.objects.in_tenant(self.tenant).select_related("site"),
            "form": form or EnrollmentTokenForm(tenant=self.tenant),
            "new_token": new_token,
            "server": settings.SITE_URL,
        }
        return render(request, "devices/enrollment.html", context, status=status)

    def post(self, request, tenant_slug):
        form = EnrollmentTokenForm(request.POST, tenant=self.tenant)
        if not form.is_valid():
            return self.get(request, tenant_slug, form=form, status=400)
        days = form.cleaned_data.pop("expires_in_days", None)
        data = {k: v for k, v in form.cleaned_data.items() if k != "groups"}
        token, raw = EnrollmentToken.issue(
            self.tenant,
            created_by=request.user,
            expires_at=timezone.now() + timedelta(days=days) if days else None,
            **data,
        )
        token.groups.set(form.cleaned_data["groups"])
        return self.get(request, tenant_slug, new_token=raw)


class EnrollmentTokenActionView(TenantView, View):
    """POST action=revoke|rotate on one token."""

    capability = "enrollment.manage"

    def post(self, request, tenant_slug, pk):
        token = get_object(request.access, EnrollmentToken.objects.in_tenant(self.tenant), "enrollment.manage", pk=pk)
        action = request.POST.get("action")
        if action == "revoke" and token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            messages.success(request, f"{token.name} revoked.")
        elif action == "rotate":
            return _render_with_token(request, self.tenant, token.rotate())
        return redirect("enrollment", tenant_slug=self.tenant.slug)


def _render_with_token(request, tenant, raw):
    """The enrollment page showing a token's new value, once."""
    page = EnrollmentView()
    page.setup(request, tenant_slug=tenant.slug)
    page.tenant = tenant
    return page.get(request, tenant.slug, new_token=raw)
