from django.urls import path

from devices.agent_api import views

urlpatterns = [
    path("enroll", views.EnrollView.as_view(), name="agent_enroll"),
    path("checkin", views.CheckInView.as_view(), name="agent_checkin"),
    path("inventory", views.InventoryView.as_view(), name="agent_inventory"),
    path("updates", views.UpdatesView.as_view(), name="agent_updates"),
    path("token/rotate", views.RotateTokenView.as_view(), name="agent_rotate_token"),
]
