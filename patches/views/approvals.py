"""The approval queue: what each tenant's devices miss, riskiest first, and bulk decisions on it.

One queue, two places: across every tenant the staff member works on (/approvals/) and as a
tab of one tenant. GET lists (the table alone for htmx), POST decides the ticked items and
answers with the refreshed queue.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from patches.decisions import decide_for_tenants, parse_items
from patches.forms.approvals import BulkDecisionForm, QueueFilterForm, apply_domain_errors
from patches.queue import approval_queue
from portal.views import StaffView, TenantView, _Can
from tenants.models import Tenant

__all__ = ["ApprovalQueueView", "TenantApprovalQueueView"]

PAGE_SIZE = 100


class _ApprovalQueue(View):
    """The queue over `queue_tenants()`; `self.tenant` is set on a tenant's tab, else None."""

    tenant = None

    def queue_tenants(self) -> list:
        access = self.request.access
        if self.tenant is not None:
            return [self.tenant]
        tenants = Tenant.objects.visible_to(access).filter(archived_at__isnull=True).only("name", "slug", "time_zone")
        return [t for t in tenants if access.can(t.pk, "approval.view")]

    def decision_form(self, data=None) -> BulkDecisionForm:
        return BulkDecisionForm(data, allow_global=self.request.access.is_admin)

    def get(self, request, **kwargs):
        return self.render_queue(self.decision_form())

    def post(self, request, **kwargs):
        form = self.decision_form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if self.tenant is not None and any(not _of_tenant(value, self.tenant) for value in data["items"]):
                # Checked before the items are read: this page sees only its own tenant's rows.
                raise Http404("Not an item of this tenant")
            try:
                items = parse_items(data["items"], request.access)
                result = decide_for_tenants(
                    request.access,
                    request.user,
                    items,
                    action=data["action"],
                    now=timezone.now(),
                    scope=data["scope"],
                    comment=data["comment"],
                    defer_until=data["defer_until"],
                    expires_on=data["expires_on"],
                )
            except ValidationError as error:
                apply_domain_errors(form, error)
            else:
                messages.success(request, _summary(data["action"], result, data["defer_until"]))
                if not request.htmx:
                    return redirect(request.get_full_path())
                form = self.decision_form()
        # htmx swaps only 2xx answers; a plain form post says 400 with the errors on the page.
        status = 200 if form.is_valid() or request.htmx else 400
        return self.render_queue(form, status=status)

    def render_queue(self, decision_form, status=200):
        request = self.request
        now = timezone.now()
        filters = QueueFilterForm(request.GET, tenants=self.queue_tenants())
        items = approval_queue(filters.chosen_tenants(), now, **filters.queue_kwargs()) if filters.is_valid() else []
        page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "tenant": self.tenant,
            "filters": filters,
            "form": decision_form,
            "selected": decision_form.selected(),
            "page": page,
            "rows": [
                {"item": item, "age": item.age_days(now), "key": f"{item.tenant.pk}:{item.patch.pk}"}
                for item in page.object_list
            ],
            "query": query.urlencode(),
            "can_decide": self._can_decide(),
            "allow_global": request.access.is_admin,
        }
        if self.tenant is not None:
            context["can"] = _Can(request.access, self.tenant.pk)
        template = "patches/approval_queue.html"
        if request.htmx and not request.htmx.boosted:
            template = "patches/_approval_queue.html"
        response = render(request, template, context, status=status)
        response["Vary"] = "HX-Request"
        return response

    def _can_decide(self) -> bool:
        access = self.request.access
        if self.tenant is not None:
            return access.can(self.tenant.pk, "approval.decide")
        return access.can_anywhere("approval.decide")


class ApprovalQueueView(StaffView, _ApprovalQueue):
    capability_anywhere = "approval.view"


class TenantApprovalQueueView(TenantView, _ApprovalQueue):
    capability = "approval.view"
    write_capability = "approval.decide"


def _of_tenant(value: str, tenant) -> bool:
    """Whether a "<tenant id>:<patch id>" queue item names this tenant (malformed ones are
    left to parse_items, which says what is wrong with them)."""
    tenant_id, _, _ = str(value).partition(":")
    return not tenant_id.isdigit() or int(tenant_id) == tenant.pk


def _summary(action: str, result, defer_until) -> str:
    count = len(result.approvals)
    patches = f"{count} patch{'es' if count != 1 else ''}"
    if action == "approve":
        waiting = result.sent_to_client
        if waiting == count:
            return f"{patches} sent to the client for sign-off."
        sent = f"; {waiting} sent to the client for sign-off" if waiting else ""
        return f"Approved {patches}{sent}."
    if action == "defer":
        return f"Deferred {patches} until {defer_until:%Y-%m-%d}."
    return f"{'Rejected' if action == 'reject' else 'Reopened'} {patches}."
