from django.urls import include, path

from reports import schedule_views, views

# Pages of one client's reports: /t/<tenant_slug>/reports/...
tenant_patterns = [
    path("", views.ReportListView.as_view(), name="report_list"),
    path("new/", views.ReportRequestView.as_view(), name="report_create"),
    path("<int:pk>/preview/", views.ReportPreviewView.as_view(), name="report_preview"),
    path("<int:pk>/logo/", views.ReportLogoView.as_view(), name="report_logo"),
    path("findings.csv", views.FindingsCsvView.as_view(), name="report_findings_csv"),
    path("jobs.csv", views.JobsCsvView.as_view(), name="report_jobs_csv"),
    path("schedules/", schedule_views.ReportScheduleListView.as_view(), name="report_schedule_list"),
    path("schedules/new/", schedule_views.ReportScheduleEditView.as_view(), name="report_schedule_create"),
    path("schedules/<int:pk>/", schedule_views.ReportScheduleEditView.as_view(), name="report_schedule_edit"),
    path(
        "schedules/<int:pk>/delete/", schedule_views.ReportScheduleDeleteView.as_view(), name="report_schedule_delete"
    ),
    path("deliveries/", schedule_views.ReportDeliveryListView.as_view(), name="report_delivery_list"),
    path("deliveries/<int:pk>/retry/", schedule_views.ReportDeliveryRetryView.as_view(), name="report_delivery_retry"),
]

urlpatterns = [
    path("t/<slug:tenant_slug>/reports/", include(tenant_patterns)),
    path("reports/download/<str:token>/", views.ReportDownloadView.as_view(), name="report_download"),
    path("settings/branding/", views.BrandingView.as_view(), name="branding_edit"),
]
