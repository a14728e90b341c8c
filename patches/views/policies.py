"""The policy editor: the list of policies, and one page per scope (global, tenant, site,
device group, device) where each setting is inherited or set here."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, Value, When
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from devices.models import Device, DeviceGroup
from patches import policy_editing
from patches.forms.policies import PolicyForm
from patches.models import PatchPolicy, Scope
from patches.policy import FIELDS, effective
from patches.policy_display import effective_rows, policy_summary, policy_url, script_names, show_value
from portal.views import StaffView, TenantView, htmx_redirect
from tenants.access import get_object
from tenants.models import Site, Tenant

__all__ = [
    "DevicePolicyView",
    "GlobalPolicyView",
    "GroupPolicyView",
    "PolicyListView",
    "SitePolicyView",
    "TenantPolicyView",
]

PAGE_SIZE = 100
# Broadest first, as people read a chain of inheritance.
SCOPE_ORDER = [Scope.GLOBAL, Scope.TENANT, Scope.SITE, Scope.GROUP, Scope.DEVICE]


class PolicyListView(StaffView, View):
    """The global policy and every policy of the tenants the staff member works on."""

    capability_anywhere = "policy.view"

    def get(self, request):
        policies = (
            PatchPolicy.objects.visible_to(request.access, "policy.view")
            .exclude(scope=Scope.GLOBAL)
            .select_related("tenant", "site", "group", "device")
        )
        tenant_slug, scope = request.GET.get("tenant", ""), request.GET.get("scope", "")
        if tenant_slug:
            policies = policies.filter(tenant__slug=tenant_slug)
        if scope in Scope.values:
            policies = policies.filter(scope=scope)
        scope_rank = Case(
            *(When(scope=s, then=Value(i)) for i, s in enumerate(SCOPE_ORDER)), output_field=IntegerField()
        )
        policies = policies.order_by(F("tenant__name").asc(nulls_first=True), scope_rank, "-priority", "id")
        page = Paginator(policies, PAGE_SIZE).get_page(request.GET.get("page"))
        scripts = script_names()
        global_policy = policy_editing.policy_at(Scope.GLOBAL)
        context = {
            "page": page,
            "rows": [{"policy": p, "url": policy_url(p), "sets": policy_summary(p, scripts)} for p in page],
            "global_policy": global_policy,
            "global_sets": policy_summary(global_policy, scripts) if global_policy else [],
            "tenants": Tenant.objects.visible_to(request.access, "policy.view").filter(archived_at=None),
            "scopes": Scope.choices,
            "filters": {"tenant": tenant_slug, "scope": scope},
            "can_edit_global": request.access.is_admin,
        }
        return render(request, "patches/policy_list.html", context)


class _PolicyEditor:
    """GET shows the editor, POST saves it (`action=add_rule` adds a blank rule row, `action=delete`
    removes the policy). Subclasses say which scope and target the page is about."""

    scope: str
    template_name = "patches/policy_edit.html"
    tenant = None

    def target(self, request, kwargs):
        return None

    def can_edit(self, request) -> bool:
        return request.access.can(self.tenant.pk, "policy.manage")

    def page_url(self, target) -> str:
        raise NotImplementedError

    def after_delete_url(self) -> str:
        return reverse("tenant_policy", kwargs={"tenant_slug": self.tenant.slug})

    def extra_context(self, request, target, policy) -> dict:
        return {}

    def get(self, request, **kwargs):
        target = self.target(request, kwargs)
        return self.show(request, target, policy_editing.policy_at(self.scope, self.tenant, target))

    def show(self, request, target, policy, form=None, status=200):
        scripts = script_names()
        can_edit = self.can_edit(request)
        if form is None:
            form = self.form(None, policy, scripts, disabled=not can_edit)
        inherited = effective(policy_editing.inherited_chain(self.scope, self.tenant, target))
        rows = []
        for row in form.setting_rows():
            key, source = row["key"], inherited.sources[row["key"]]
            row["inherited"] = show_value(FIELDS[key], inherited.values[key], scripts)
            row["inherited_from"] = inherited.source_label(key)
            row["inherited_url"] = policy_url(source) if source is not None else ""
            rows.append(row)
        context = {
            "tenant": self.tenant,
            "scope": self.scope,
            "scope_name": Scope(self.scope).label,
            "target": target,
            "policy": policy,
            "form": form,
            "rows": rows,
            "can_edit": can_edit,
            "page_url": self.page_url(target),
            **self.extra_context(request, target, policy),
        }
        return render(request, self.template_name, context, status=status)

    def form(self, data, policy, scripts, **kwargs) -> PolicyForm:
        return PolicyForm(
            data,
            current=policy.settings if policy else {},
            scripts=scripts,
            with_priority=self.scope == Scope.GROUP,
            priority=policy.priority if policy else 0,
            **kwargs,
        )

    def post(self, request, **kwargs):
        if not self.can_edit(request):
            raise PermissionDenied("Your role does not allow changing this policy.")
        target = self.target(request, kwargs)
        policy = policy_editing.policy_at(self.scope, self.tenant, target)
        action = request.POST.get("action", "save")
        if action == "delete":
            return self.delete(request, policy)
        form = self.form(request.POST, policy, script_names(), add_rule=action == "add_rule")
        if action == "add_rule":
            return self.show(request, target, policy, form=form)
        if not form.is_valid():
            return self.show(request, target, policy, form=form, status=400)
        settings, priority = form.cleaned_settings, form.cleaned_data.get("priority")
        if policy is None and not settings and not priority:
            messages.info(request, "Nothing is set here, so nothing was saved: this scope inherits everything.")
            return htmx_redirect(request, self.page_url(target))
        policy_editing.save_policy(self.scope, settings, tenant=self.tenant, target=target, priority=priority)
        count = len(settings)
        messages.success(request, f"Policy saved: it sets {count} setting{'' if count == 1 else 's'} here.")
        return htmx_redirect(request, self.page_url(target))

    def delete(self, request, policy):
        if self.scope == Scope.GLOBAL:
            raise PermissionDenied("The global policy is kept; set every value to inherit instead.")
        if policy is not None:
            policy_editing.delete_policy(policy)
            messages.success(request, f"Policy for {policy.scope_label} deleted; it inherits everything again.")
        return htmx_redirect(request, self.after_delete_url())


class GlobalPolicyView(_PolicyEditor, StaffView, View):
    """Staff read the global policy; only MSP admins change it."""

    scope = Scope.GLOBAL
    capability_anywhere = "policy.view"

    def can_edit(self, request) -> bool:
        return request.access.is_admin

    def page_url(self, target) -> str:
        return reverse("policy_global")


class TenantPolicyView(_PolicyEditor, TenantView, View):
    """The tenant's policy, what applies to its devices by default, and the policies below it."""

    scope = Scope.TENANT
    capability = "policy.view"
    write_capability = "policy.manage"

    def page_url(self, target) -> str:
        return reverse("tenant_policy", kwargs={"tenant_slug": self.tenant.slug})

    def extra_context(self, request, target, policy) -> dict:
        scripts = script_names()
        below = (
            PatchPolicy.objects.in_tenant(self.tenant)
            .exclude(scope=Scope.TENANT)
            .select_related("tenant", "site", "group", "device")
        )
        with_policy = {(p.scope, p.site_id or p.group_id): p for p in below}
        return {
            "effective_rows": effective_rows(effective(policy_editing.tenant_chain(self.tenant)), scripts),
            "below": sorted(
                ({"policy": p, "url": policy_url(p), "sets": policy_summary(p, scripts)} for p in below),
                key=lambda row: (SCOPE_ORDER.index(row["policy"].scope), -row["policy"].priority, str(row["policy"])),
            ),
            "sites": [(s, with_policy.get((Scope.SITE, s.pk))) for s in Site.objects.in_tenant(self.tenant)],
            "groups": [(g, with_policy.get((Scope.GROUP, g.pk))) for g in DeviceGroup.objects.in_tenant(self.tenant)],
        }


class _TargetPolicyView(_PolicyEditor, TenantView, View):
    capability = "policy.view"
    write_capability = "policy.manage"
    queryset = None
    lookup = "pk"

    def target(self, request, kwargs):
        return get_object(
            request.access,
            self.queryset.in_tenant(self.tenant),
            "policy.view",
            **{self.lookup: kwargs[self.lookup]},
        )

    def page_url(self, target) -> str:
        url_name = f"{self.scope}_policy"
        return reverse(url_name, kwargs={"tenant_slug": self.tenant.slug, self.lookup: getattr(target, self.lookup)})


class SitePolicyView(_TargetPolicyView):
    scope = Scope.SITE
    queryset = Site.objects.all()


class GroupPolicyView(_TargetPolicyView):
    scope = Scope.GROUP
    queryset = DeviceGroup.objects.all()

    def extra_context(self, request, target, policy) -> dict:
        return {"group_devices": target.devices().count()}


class DevicePolicyView(_TargetPolicyView):
    scope = Scope.DEVICE
    queryset = Device.objects.select_related("site")
    lookup = "uid"

    def after_delete_url(self) -> str:
        device_page = reverse("device_detail", kwargs={"tenant_slug": self.tenant.slug, "uid": self.kwargs["uid"]})
        return f"{device_page}?section=policy"
