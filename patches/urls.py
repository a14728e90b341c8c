from django.urls import path, re_path

from patches.views import approvals, catalogue, cves, exceptions, findings, policies, scripts, signoff

urlpatterns = [
    path("t/<slug:tenant_slug>/findings/", findings.FindingListView.as_view(), name="finding_list"),
    re_path(rf"^cves/(?P<cve_id>{cves.CVE_PATTERN})/$", cves.CveDetailView.as_view(), name="cve_detail"),
    path("approvals/", approvals.ApprovalQueueView.as_view(), name="approval_queue"),
    path("t/<slug:tenant_slug>/approvals/", approvals.TenantApprovalQueueView.as_view(), name="tenant_approval_queue"),
    path("t/<slug:tenant_slug>/sign-off/", signoff.SignOffQueueView.as_view(), name="sign_off_queue"),
    path("t/<slug:tenant_slug>/sign-off/<int:pk>/", signoff.SignOffDecisionView.as_view(), name="sign_off_decide"),
    path("patches/", catalogue.PatchListView.as_view(), name="patch_list"),
    path("patches/<int:pk>/", catalogue.PatchDetailView.as_view(), name="patch_detail"),
]

# Policies, accepted risks and scripts.
urlpatterns += [
    path("policies/", policies.PolicyListView.as_view(), name="policy_list"),
    path("policies/global/", policies.GlobalPolicyView.as_view(), name="policy_global"),
    path("t/<slug:tenant_slug>/policy/", policies.TenantPolicyView.as_view(), name="tenant_policy"),
    path("t/<slug:tenant_slug>/policy/site/<int:pk>/", policies.SitePolicyView.as_view(), name="site_policy"),
    path("t/<slug:tenant_slug>/policy/group/<int:pk>/", policies.GroupPolicyView.as_view(), name="group_policy"),
    path("t/<slug:tenant_slug>/policy/device/<uuid:uid>/", policies.DevicePolicyView.as_view(), name="device_policy"),
    path("t/<slug:tenant_slug>/exceptions/", exceptions.ExceptionListView.as_view(), name="exception_list"),
    path("t/<slug:tenant_slug>/exceptions/new/", exceptions.ExceptionCreateView.as_view(), name="exception_create"),
    path(
        "t/<slug:tenant_slug>/exceptions/<int:pk>/revoke/",
        exceptions.ExceptionRevokeView.as_view(),
        name="exception_revoke",
    ),
    path("scripts/", scripts.ScriptListView.as_view(), name="script_list"),
    path("scripts/new/", scripts.ScriptCreateView.as_view(), name="script_create"),
    path("scripts/<int:pk>/", scripts.ScriptDetailView.as_view(), name="script_detail"),
    path("scripts/<int:pk>/edit/", scripts.ScriptEditView.as_view(), name="script_edit"),
    path("scripts/<int:pk>/versions/<int:number>/", scripts.ScriptVersionView.as_view(), name="script_version"),
    path("scripts/<int:pk>/diff/", scripts.ScriptDiffView.as_view(), name="script_diff"),
]
