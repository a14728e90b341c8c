"""Sign-in, sign-out and two-factor authentication pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.views import PortalView
from tenants import audit
from tenants.forms import EmailLoginForm, TotpConfirmForm
from tenants.qr import qr_svg

BACKUP_CODE_COUNT = 10


class LoginView(auth_views.LoginView):
    form_class = EmailLoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def _next_url(request, default="home"):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse(default)


class TwoFactorVerifyView(PortalView, View):
    """Second step of sign-in: a TOTP code or a one-time backup code."""

    template_name = "registration/two_factor_verify.html"

    def get(self, request):
        if request.user.is_verified():
            return redirect(_next_url(request))
        return render(request, self.template_name, {"form": TotpConfirmForm(), "next": request.GET.get("next", "")})

    def post(self, request):
        form = TotpConfirmForm(request.POST)
        if form.is_valid():
            token = form.cleaned_data["token"].replace(" ", "")
            # Digits go to the authenticator, anything else to the backup codes, so a backup
            # code does not count as a failed TOTP attempt (which would throttle the next one).
            kind = TOTPDevice if token.isdigit() else StaticDevice
            for device in devices_for_user(request.user, confirmed=True):
                if isinstance(device, kind) and device.verify_token(token):
                    otp_login(request, device)
                    audit.record("two_factor_verified", request.user, message=device.__class__.__name__)
                    return redirect(_next_url(request))
            audit.record("two_factor_failed", request.user)
            form.add_error("token", "That code is not valid. Codes change every 30 seconds.")
        return render(request, self.template_name, {"form": form, "next": request.POST.get("next", "")}, status=400)


class TwoFactorSetupView(PortalView, View):
    """Enrol an authenticator app: show the secret as a QR code, confirm with a first code."""

    template_name = "registration/two_factor_setup.html"

    def _pending_device(self, user):
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)

    def get(self, request):
        if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists() and not request.user.is_verified():
            return redirect("two_factor_verify")
        device = self._pending_device(request.user)
        return render(request, self.template_name, self._context(device, TotpConfirmForm()))

    def post(self, request):
        device = self._pending_device(request.user)
        form = TotpConfirmForm(request.POST)
        if form.is_valid() and device.verify_token(form.cleaned_data["token"].replace(" ", "")):
            # One authenticator per user: a new enrolment replaces the old one.
            TOTPDevice.objects.filter(user=request.user, confirmed=True).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _new_backup_codes(request.user)
            otp_login(request, device)
            audit.record("two_factor_enabled", request.user)
            return render(request, "registration/two_factor_backup_codes.html", {"codes": codes})
        form.add_error("token", "That code is not valid. Check the time on your phone and try again.")
        return render(request, self.template_name, self._context(device, form), status=400)

    @staticmethod
    def _context(device, form):
        return {
            "form": form,
            "secret": device_secret(device),
            "qr": qr_svg(device.config_url),
        }


class TwoFactorDisableView(PortalView, View):
    """Client users may turn 2FA off again; MSP staff may not."""

    def post(self, request):
        if request.user.is_msp_staff:
            messages.error(request, "Two-factor authentication is required for MSP staff.")
            return redirect("profile")
        for device in devices_for_user(request.user, confirmed=None):
            device.delete()
        audit.record("two_factor_disabled", request.user)
        messages.success(request, "Two-factor authentication is off.")
        return redirect("profile")


def device_secret(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")


def _new_backup_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes
