from django.urls import path

from advisories.views import advisories, feeds

urlpatterns = [
    path("advisories/", advisories.AdvisoryListView.as_view(), name="advisory_list"),
    path("advisories/<str:advisory_id>/", advisories.AdvisoryDetailView.as_view(), name="advisory_detail"),
    path("feeds/", feeds.FeedStatusView.as_view(), name="feed_status"),
    path("feeds/new/", feeds.FeedSourceEditView.as_view(), name="feed_source_create"),
    path("feeds/<int:pk>/edit/", feeds.FeedSourceEditView.as_view(), name="feed_source_edit"),
    path("feeds/<int:pk>/sync/", feeds.FeedSyncView.as_view(), name="feed_sync"),
]
