from django.urls import path

from deployments.views import alerts

urlpatterns = [
    path("alerts/", alerts.AlertListView.as_view(), name="alert_list"),
    path("alerts/<int:pk>/acknowledge/", alerts.AlertAcknowledgeView.as_view(), name="alert_acknowledge"),
    path("alerts/channels/", alerts.AlertChannelListView.as_view(), name="alert_channel_list"),
    path("alerts/channels/new/", alerts.AlertChannelEditView.as_view(), name="alert_channel_create"),
    path("alerts/channels/<int:pk>/edit/", alerts.AlertChannelEditView.as_view(), name="alert_channel_edit"),
    path("alerts/channels/<int:pk>/delete/", alerts.AlertChannelDeleteView.as_view(), name="alert_channel_delete"),
    path("alerts/channels/<int:pk>/test/", alerts.AlertChannelTestView.as_view(), name="alert_channel_test"),
]

# Rings, maintenance windows and deployments (engineer U).
from deployments.views import deployments, rings, windows  # noqa: E402

T = "t/<slug:tenant_slug>/"
urlpatterns += [
    path(f"{T}rings/", rings.RingListView.as_view(), name="ring_list"),
    path(f"{T}rings/new/", rings.RingEditView.as_view(), name="ring_create"),
    path(f"{T}rings/<int:pk>/edit/", rings.RingEditView.as_view(), name="ring_edit"),
    path(f"{T}rings/<int:pk>/delete/", rings.RingDeleteView.as_view(), name="ring_delete"),
    path(f"{T}windows/", windows.WindowListView.as_view(), name="window_list"),
    path(f"{T}windows/new/", windows.WindowEditView.as_view(), name="window_create"),
    path(f"{T}windows/calendar/", windows.WindowCalendarView.as_view(), name="window_calendar"),
    path(f"{T}windows/<int:pk>/edit/", windows.WindowEditView.as_view(), name="window_edit"),
    path(f"{T}windows/<int:pk>/delete/", windows.WindowDeleteView.as_view(), name="window_delete"),
    path(f"{T}blackouts/new/", windows.BlackoutCreateView.as_view(), name="blackout_create"),
    path(f"{T}blackouts/<int:pk>/delete/", windows.BlackoutDeleteView.as_view(), name="blackout_delete"),
    path("deployments/", deployments.DeploymentListAllView.as_view(), name="deployment_list_all"),
    path(f"{T}deployments/", deployments.DeploymentListView.as_view(), name="deployment_list"),
    path(f"{T}deployments/new/", deployments.DeploymentCreateView.as_view(), name="deployment_create"),
    path(f"{T}deployments/<int:pk>/", deployments.DeploymentDetailView.as_view(), name="deployment_detail"),
    path(
        f"{T}deployments/<int:pk>/progress/",
        deployments.DeploymentProgressView.as_view(),
        name="deployment_progress",
    ),
    path(
        f"{T}deployments/<int:pk>/pause/",
        deployments.DeploymentActionView.as_view(),
        {"action": "pause"},
        name="deployment_pause",
    ),
    path(
        f"{T}deployments/<int:pk>/resume/",
        deployments.DeploymentActionView.as_view(),
        {"action": "resume"},
        name="deployment_resume",
    ),
    path(
        f"{T}deployments/<int:pk>/cancel/",
        deployments.DeploymentActionView.as_view(),
        {"action": "cancel"},
        name="deployment_cancel",
    ),
    path(f"{T}deployments/<int:pk>/jobs/<int:job_pk>/", deployments.JobLogView.as_view(), name="job_log"),
]
