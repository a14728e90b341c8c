"""The signed-in user's own page: 2FA status and personal API tokens."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.views import PortalView
from tenants.forms import ApiTokenForm
from tenants.models import ApiToken


def _render_profile(request, form=None, new_token=None, status=200):
    context = {
        "form": form or ApiTokenForm(),
        "tokens": ApiToken.objects.filter(user=request.user),
        "has_totp": TOTPDevice.objects.filter(user=request.user, confirmed=True).exists(),
        "new_token": new_token,
    }
    return render(request, "tenants/profile.html", context, status=status)


class ProfileView(PortalView, View):
    def get(self, request):
        return _render_profile(request)


class TokenCreateView(PortalView, View):
    def post(self, request):
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return _render_profile(request, form=form, status=400)
        days = form.cleaned_data.get("expires_in_days")
        expires = timezone.now() + timedelta(days=days) if days else None
        _, raw = ApiToken.issue(request.user, form.cleaned_data["name"], expires_at=expires)
        # The raw value is shown once, in this response, and never stored.
        return _render_profile(request, new_token=raw)


class TokenRevokeView(PortalView, View):
    def post(self, request, pk):
        token = get_object_or_404(ApiToken, pk=pk, user=request.user)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            messages.success(request, f"Token {token.name} revoked.")
        return redirect("profile")
