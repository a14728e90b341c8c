from rest_framework.routers import DefaultRouter

from advisories.api import views

router = DefaultRouter()
router.include_root_view = False
router.register("advisories", views.AdvisoryViewSet)
router.register("feed-sources", views.FeedSourceViewSet)
router.register("feed-runs", views.FeedRunViewSet)

urlpatterns = router.urls
