from django.urls import path

from tenants.views import audit, auth, members, overview, profile, sites, tenant, users

urlpatterns = [
    path("", overview.HomeView.as_view(), name="home"),
    path("tenants/", overview.MspOverviewView.as_view(), name="msp_overview"),
    path("tenants/new/", tenant.TenantCreateView.as_view(), name="tenant_create"),
    path("switch/", overview.TenantSwitchView.as_view(), name="tenant_switch"),
    path("users/", users.UserListView.as_view(), name="user_list"),
    path("users/new/", users.StaffUserCreateView.as_view(), name="user_create"),
    path("users/<int:pk>/", users.UserEditView.as_view(), name="user_edit"),
    path("audit/", audit.MspAuditView.as_view(), name="msp_audit"),
    # Account
    path("login/", auth.LoginView.as_view(), name="login"),
    path("account/profile/", profile.ProfileView.as_view(), name="profile"),
    path("account/tokens/", profile.TokenCreateView.as_view(), name="token_create"),
    path("account/tokens/<int:pk>/revoke/", profile.TokenRevokeView.as_view(), name="token_revoke"),
    path("account/2fa/setup/", auth.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("account/2fa/verify/", auth.TwoFactorVerifyView.as_view(), name="two_factor_verify"),
    path("account/2fa/disable/", auth.TwoFactorDisableView.as_view(), name="two_factor_disable"),
    # One tenant
    path("t/<slug:tenant_slug>/", tenant.TenantDetailView.as_view(), name="tenant_detail"),
    path("t/<slug:tenant_slug>/edit/", tenant.TenantEditView.as_view(), name="tenant_edit"),
    path("t/<slug:tenant_slug>/state/", tenant.TenantStateView.as_view(), name="tenant_state"),
    path("t/<slug:tenant_slug>/sites/", sites.SiteListView.as_view(), name="site_list"),
    path("t/<slug:tenant_slug>/sites/new/", sites.SiteCreateView.as_view(), name="site_create"),
    path("t/<slug:tenant_slug>/sites/<int:pk>/", sites.SiteEditView.as_view(), name="site_edit"),
    path("t/<slug:tenant_slug>/sites/<int:pk>/delete/", sites.SiteDeleteView.as_view(), name="site_delete"),
    path("t/<slug:tenant_slug>/members/", members.MemberListView.as_view(), name="member_list"),
    path("t/<slug:tenant_slug>/members/new/", members.MemberAddView.as_view(), name="member_add"),
    path("t/<slug:tenant_slug>/members/<int:pk>/", members.MemberEditView.as_view(), name="member_edit"),
    path("t/<slug:tenant_slug>/members/<int:pk>/remove/", members.MemberRemoveView.as_view(), name="member_remove"),
    path("t/<slug:tenant_slug>/audit/", audit.TenantAuditView.as_view(), name="tenant_audit"),
]
