from rest_framework.routers import DefaultRouter

from devices.api import views

router = DefaultRouter()
router.include_root_view = False
router.register("devices", views.DeviceViewSet)
router.register("device-groups", views.DeviceGroupViewSet)
router.register("enrollment-tokens", views.EnrollmentTokenViewSet)

urlpatterns = router.urls
