from rest_framework.routers import DefaultRouter

from patches.api import approval_views, exception_views, policy_views, script_views, views

router = DefaultRouter()
router.include_root_view = False
router.register("findings", views.FindingViewSet)
router.register("cves", views.CveViewSet, basename="cve")
router.register("patches", approval_views.PatchViewSet)
router.register("approvals", approval_views.ApprovalViewSet)
router.register("approval-queue", approval_views.ApprovalQueueViewSet, basename="approval-queue")
router.register("policies", policy_views.PolicyViewSet, basename="policy")
router.register("exceptions", exception_views.RiskExceptionViewSet, basename="riskexception")
router.register("scripts", script_views.ScriptViewSet, basename="script")

urlpatterns = router.urls
