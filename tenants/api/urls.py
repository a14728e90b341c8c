from rest_framework.routers import DefaultRouter

from tenants.api import views

router = DefaultRouter()
router.register("tenants", views.TenantViewSet)
router.register("sites", views.SiteViewSet)
router.register("memberships", views.MembershipViewSet)
router.register("users", views.UserViewSet)
router.register("audit", views.AuditEntryViewSet)
router.register("tokens", views.ApiTokenViewSet, basename="apitoken")

urlpatterns = router.urls
