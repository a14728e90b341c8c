from django.urls import path

from devices.views import devices, enrollment, groups

urlpatterns = [
    path("devices/", devices.AllDeviceListView.as_view(), name="device_list_all"),
    path("t/<slug:tenant_slug>/devices/", devices.TenantDeviceListView.as_view(), name="tenant_device_list"),
    path("t/<slug:tenant_slug>/devices/<uuid:uid>/", devices.DeviceDetailView.as_view(), name="device_detail"),
    path("t/<slug:tenant_slug>/groups/", groups.GroupListView.as_view(), name="group_list"),
    path("t/<slug:tenant_slug>/groups/new/", groups.GroupCreateView.as_view(), name="group_create"),
    path("t/<slug:tenant_slug>/groups/<int:pk>/", groups.GroupEditView.as_view(), name="group_edit"),
    path("t/<slug:tenant_slug>/groups/<int:pk>/members/", groups.GroupMembersView.as_view(), name="group_members"),
    path("t/<slug:tenant_slug>/groups/<int:pk>/delete/", groups.GroupDeleteView.as_view(), name="group_delete"),
    path("t/<slug:tenant_slug>/enrollment/", enrollment.EnrollmentView.as_view(), name="enrollment"),
    path(
        "t/<slug:tenant_slug>/enrollment/<int:pk>/",
        enrollment.EnrollmentTokenActionView.as_view(),
        name="enrollment_token_action",
    ),
]
