from django.urls import path

from reports import schedule_views, views

urlpatterns = [
    path("t/<slug:tenant_slug>/reports/", views.ReportListView.as_view(), name="report_list"),
    path("t/<slug:tenant_slug>/reports/new/", views.ReportRequestView.as_view(), name="report_create"),
    path("t/<slug:tenant_slug>/reports/<int:pk>/preview/", views.ReportPreviewView.as_view(), name="report_preview"),
    path("t/<slug:tenant_slug>/reports/<int:pk>/logo/", views.ReportLogoView.as_view(), name="report_logo"),
    path("t/<slug:tenant_slug>/reports/findings.csv", views.FindingsCsvView.as_view(), name="report_findings_csv"),
    path("t/<slug:tenant_slug>/reports/jobs.csv", views.JobsCsvView.as_view(), name="report_jobs_csv"),
    path(
        "t/<slug:tenant_slug>/reports/schedules/",
        schedule_views.ReportScheduleListView.as_view(),
        name="report_schedule_list",
    ),
    path(
        "t/<slug:tenant_slug>/reports/schedules/new/",
        schedule_views.ReportScheduleEditView.as_view(),
        name="report_schedule_create",
    ),
    path(
        "t/<slug:tenant_slug>/reports/schedules/<int:pk>/",
        schedule_views.ReportScheduleEditView.as_view(),
        name="report_schedule_edit",
    ),
    path(
        "t/<slug:tenant_slug>/reports/schedules/<int:pk>/delete/",
        schedule_views.ReportScheduleDeleteView.as_view(),
        name="report_schedule_delete",
    ),
    path(
        "t/<slug:tenant_slug>/reports/deliveries/",
        schedule_views.ReportDeliveryListView.as_view(),
        name="report_delivery_list",
    ),
    path(
        "t/<slug:tenant_slug>/reports/deliveries/<int:pk>/retry/",
        schedule_views.ReportDeliveryRetryView.as_view(),
        name="report_delivery_retry",
    ),
    path("reports/download/<str:token>/", views.ReportDownloadView.as_view(), name="report_download"),
    path("settings/branding/", views.BrandingView.as_view(), name="branding_edit"),
]
