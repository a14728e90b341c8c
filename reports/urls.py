from django.urls import path

from reports import views

urlpatterns = [
    path("t/<slug:tenant_slug>/reports/", views.ReportListView.as_view(), name="report_list"),
    path("t/<slug:tenant_slug>/reports/new/", views.ReportRequestView.as_view(), name="report_create"),
    path("t/<slug:tenant_slug>/reports/<int:pk>/preview/", views.ReportPreviewView.as_view(), name="report_preview"),
    path("t/<slug:tenant_slug>/reports/findings.csv", views.FindingsCsvView.as_view(), name="report_findings_csv"),
    path("t/<slug:tenant_slug>/reports/jobs.csv", views.JobsCsvView.as_view(), name="report_jobs_csv"),
    path("reports/download/<str:token>/", views.ReportDownloadView.as_view(), name="report_download"),
    path("settings/branding/", views.BrandingView.as_view(), name="branding_edit"),
]
