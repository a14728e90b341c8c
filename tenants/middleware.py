"""Request middleware that applies the tenant scope and the staff 2FA rule."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect

from portal.db_scope import Scope, db_scope, set_scope
from tenants import audit
from tenants.access import ANONYMOUS, access_for


def client_ip(request) -> str | None:
    # Behind N trusted proxies the client is the Nth address from the right of X-Forwarded-For.
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", None)
    if proxies:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def actor_for(request, user, source: str) -> audit.Actor:
    return audit.Actor(user.pk, user.email, source, client_ip(request))


def activate(request, user, source: str) -> None:
    """Bind a user's access, row-level-security scope and audit actor to this request."""
    request.access = access_for(user)
    set_scope(request.access.scope)
    if user is not None and user.is_authenticated:
        audit.set_actor(actor_for(request, user, source))
    else:
        audit.set_actor(audit.Actor(None, "anonymous", source, client_ip(request)))


class TenantScopeMiddleware:
    """Run each request in one transaction whose RLS scope is the user's tenants.

    On pages under /t/<tenant_slug>/ the scope narrows further to that one tenant, so a
    view that forgets a filter cannot show a neighbour's data even to MSP staff.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The agent API authenticates devices and opens its own tenant scope per request.
        # /healthz reads no tenant data and must answer (503) when the database is down.
        if request.path.startswith((settings.STATIC_URL, "/api/agent/")) or request.path == "/healthz":
            return self.get_response(request)
        source = "api" if request.path.startswith("/api/") else "ui"
        with db_scope(ANONYMOUS.scope), audit.actor_context():
            activate(request, request.user, source)
            response = self.get_response(request)
            # Nothing of a response may be produced lazily after the scope is gone.
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("tenant_slug")
        access = getattr(request, "access", ANONYMOUS)
        if slug and access.user_id:
            from tenants.models import Tenant

            tenant_id = Tenant.objects.visible_to(access).filter(slug=slug).values_list("pk", flat=True).first()
            if tenant_id is not None and access.can_see(tenant_id):
                set_scope(Scope.of([tenant_id]))
        return None


# Pages an MSP staff member may open before completing two-factor authentication.
_TWO_FACTOR_EXEMPT = ("/account/2fa/", "/account/logout/", "/login/", "/healthz", "/static/", "/api/agent/")


class StaffTwoFactorMiddleware:
    """MSP staff must pass TOTP before anything else; client users may opt in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(_TWO_FACTOR_EXEMPT):
            return self.get_response(request)
        user = request.user
        needs_second_factor = (
            user.is_authenticated and not user.is_verified() and (user.is_msp_staff or _has_confirmed_device(user))
        )
        if needs_second_factor:
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": "Two-factor authentication required."}, status=403)
            return redirect("two_factor_verify" if _has_confirmed_device(user) else "two_factor_setup")
        return self.get_response(request)


def _has_confirmed_device(user) -> bool:
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)
