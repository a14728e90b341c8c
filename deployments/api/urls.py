from rest_framework.routers import DefaultRouter

from deployments.api import views

router = DefaultRouter()
router.include_root_view = False
router.register("rings", views.RingViewSet, basename="ring")
router.register("windows", views.MaintenanceWindowViewSet, basename="maintenancewindow")
router.register("blackouts", views.BlackoutViewSet, basename="blackout")
router.register("deployments", views.DeploymentViewSet, basename="deployment")
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = router.urls
