"""The client's sign-off queue: updates their policy asks them to approve, and their decisions.

Everyone in the tenant may read it; only a client owner decides (a technician never signs
off for the client). An item of another tenant, or one never sent to the client, is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from patches.approvals import client_decide
from patches.forms.approvals import SignOffForm, apply_domain_errors
from patches.models import Approval
from patches.queue import approval_queue
from patches.sign_off import awaiting_sign_off, client_history, plain_language
from portal.views import TenantView, _Can

__all__ = ["SignOffDecisionView", "SignOffQueueView"]


class _SignOffPage:
    def render_queue(self, request, *, failed=None, form=None, status=200):
        tenant = self.tenant
        waiting = list(awaiting_sign_off(tenant))
        missing = {item.patch.pk: item.devices for item in approval_queue([tenant], timezone.now(), statuses=())}
        shown = failed is not None and any(a.pk == failed for a in waiting)
        context = {
            # An error about an item no longer listed (decided meanwhile) is shown above the list.
            "errors": [] if form is None or shown else [e for errors in form.errors.values() for e in errors],
            "tenant": tenant,
            "can": _Can(request.access, tenant.pk),
            "items": [
                {"approval": a, "facts": plain_language(a.patch), "devices": missing.get(a.patch_id, 0)}
                for a in waiting
            ],
            "history": client_history(tenant),
            "can_decide": request.access.can(tenant.pk, "approval.client_decide"),
            "failed": failed,
            "form": form,
        }
        template = "patches/sign_off_queue.html"
        if request.htmx and not request.htmx.boosted:
            template = "patches/_sign_off_queue.html"
        response = render(request, template, context, status=status)
        response["Vary"] = "HX-Request"
        return response


class SignOffQueueView(_SignOffPage, TenantView, View):
    capability = "signoff.view"

    def get(self, request, tenant_slug):
        return self.render_queue(request)


class SignOffDecisionView(_SignOffPage, TenantView, View):
    """POST approve or decline (with a comment) for one item; answers with the refreshed queue."""

    capability = "signoff.view"
    write_capability = "approval.client_decide"
    http_method_names = ["post"]

    def post(self, request, tenant_slug, pk):
        sent = Approval.objects.filter(tenant=self.tenant, needs_client=True, client_requested_at__isnull=False)
        approval = get_object_or_404(sent, pk=pk)
        form = SignOffForm(request.POST)
        if form.is_valid():
            try:
                client_decide(
                    approval,
                    approve=form.cleaned_data["decision"] == "approve",
                    user=request.user,
                    now=timezone.now(),
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as error:
                apply_domain_errors(form, error)
            else:
                verb = "Approved" if form.cleaned_data["decision"] == "approve" else "Declined"
                messages.success(request, f"{verb}: {approval.patch}.")
                if not request.htmx:
                    return redirect("sign_off_queue", tenant_slug=self.tenant.slug)
                return self.render_queue(request)
        return self.render_queue(request, failed=approval.pk, form=form, status=200 if request.htmx else 400)
