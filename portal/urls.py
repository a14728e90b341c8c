from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal.health import healthz

# Swagger UI sets inline styles on its elements; scripts stay same-origin (split view).
api_docs = csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="api_schema"))

# Django admin (Celery beat schedules) signs in through the portal's login, with its 2FA.
admin.site.login = lambda request, extra_context=None: redirect(f"/login/?next={request.get_full_path()}")
admin.site.site_header = "Patch Portal administration"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("account/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "account/password-reset/",
        auth_views.PasswordResetView.as_view(
            email_template_name="registration/password_reset_email.txt",
            html_email_template_name="registration/password_reset_email.html",
        ),
        name="password_reset",
    ),
    path("account/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "account/password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "account/password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("account/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("account/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("api/v1/", include("tenants.api.urls")),
    path("api/v1/", include("devices.api.urls")),
    path("api/v1/", include("advisories.api.urls")),
    path("api/v1/", include("patches.api.urls")),
    path("api/v1/", include("deployments.api.urls")),
    path("", include("portal.agent_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", api_docs, name="api_docs"),
    path("admin/", admin.site.urls),
    path("", include("devices.urls")),
    path("", include("advisories.urls")),
    path("", include("patches.urls")),
    path("", include("deployments.urls")),
    path("", include("reports.urls")),
    path("", include("tenants.urls")),
]

if settings.BENCH_ENDPOINTS:
    from portal.bench_views import constant

    # Under the agent prefix, so the same middleware treats it as it treats a check-in.
    urlpatterns.insert(0, path("api/agent/v1/bench/constant", constant))
