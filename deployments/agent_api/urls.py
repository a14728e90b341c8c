from django.urls import path

from deployments.agent_api import views

urlpatterns = [
    path("jobs/claim", views.ClaimView.as_view(), name="agent_jobs_claim"),
    path("jobs/<int:pk>/progress", views.JobProgressView.as_view(), name="agent_job_progress"),
    path("jobs/<int:pk>/result", views.JobResultView.as_view(), name="agent_job_result"),
    path("health", views.HealthView.as_view(), name="agent_health"),
]
