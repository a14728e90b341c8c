"""Deployments: the lists, launching one, its live progress, the buttons, and each job's log.

Everyone in a tenant follows its deployments (deployment.view, read-only for clients);
MSP staff launch, pause, resume and cancel them (deployment.manage); "run now", the
emergency override that ignores maintenance windows, needs deployment.run_now, an explicit
confirmation and a reason, and is audited.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from deployments import control
from deployments.forms import DeploymentForm
from deployments.models import Deployment, Job, JobState
from portal.views import PortalView, TenantView, htmx_redirect
from tenants.access import get_object

__all__ = [
    "DeploymentActionView",
    "DeploymentCreateView",
    "DeploymentDetailView",
    "DeploymentListAllView",
    "DeploymentListView",
    "DeploymentProgressView",
    "JobLogView",
]

PAGE_SIZE = 50
JOB_PAGE_SIZE = 100
# htmx stops polling when the polled answer has this status.
STOP_POLLING = 286


def _page(request, deployments):
    state = request.GET.get("state", "")
    if state in Deployment.State.values:
        deployments = deployments.filter(state=state)
    page = Paginator(deployments.select_related("tenant", "created_by"), PAGE_SIZE).get_page(request.GET.get("page"))
    progress = control.progress(page.object_list)
    for deployment in page.object_list:
        deployment.progress = progress[deployment.pk]
    return {"page": page, "state": state, "states": Deployment.State.choices}


class DeploymentListAllView(PortalView, View):
    """The deployments of every tenant the user works on."""

    capability_anywhere = "deployment.view"

    def get(self, request):
        deployments = Deployment.objects.visible_to(request.access, "deployment.view").order_by("-created_at", "-id")
        context = {**_page(request, deployments), "all_tenants": True}
        return render(request, "deployments/deployment_list.html", context)


class DeploymentListView(TenantView, View):
    capability = "deployment.view"

    def get(self, request, tenant_slug):
        deployments = Deployment.objects.in_tenant(self.tenant).order_by("-created_at", "-id")
        context = {
            **_page(request, deployments),
            "tenant": self.tenant,
            "can_manage": request.access.can(self.tenant.pk, "deployment.manage"),
        }
        return render(request, "deployments/deployment_list.html", context)


class DeploymentCreateView(TenantView, View):
    capability = "deployment.manage"

    def form(self, data=None):
        may_run_now = self.request.access.can(self.tenant.pk, "deployment.run_now")
        return DeploymentForm(data, tenant=self.tenant, may_run_now=may_run_now)

    def show(self, form, status=200):
        return render(
            self.request, "deployments/deployment_form.html", {"tenant": self.tenant, "form": form}, status=status
        )

    def get(self, request, tenant_slug):
        return self.show(self.form())

    def post(self, request, tenant_slug):
        form = self.form(request.POST)
        if request.POST.get("run_now") and not form.may_run_now:
            raise PermissionDenied("Your role does not allow run-now deployments.")
        if not form.is_valid():
            return self.show(form, status=400)
        try:
            plan = control.launch(
                self.tenant,
                user=request.user,
                now=timezone.now(),
                run_now_reason=form.cleaned_data.get("run_now_reason", ""),
                **form.plan_kwargs(),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
            return self.show(form, status=400)
        deployment = plan.deployment
        held = sum(plan.blocked.values())
        note = f" {held} device-patch pairs are held back (not approved for those devices)." if held else ""
        messages.success(request, f"Deployment “{deployment}” created for {plan.devices} devices.{note}")
        url = reverse("deployment_detail", kwargs={"tenant_slug": self.tenant.slug, "pk": deployment.pk})
        return htmx_redirect(request, url)


class _DeploymentMixin:
    capability = "deployment.view"

    def deployment(self, pk, capability=None):
        queryset = Deployment.objects.in_tenant(self.tenant).select_related("created_by")
        return get_object(self.request.access, queryset, capability or self.capability, pk=pk)

    def progress_context(self, deployment):
        request = self.request
        stages = list(deployment.stages.select_related("ring").order_by("position"))
        by_stage = control.stage_progress(deployment)
        for stage in stages:
            stage.progress = by_stage.get(stage.pk, control.Progress())
        jobs = (
            Job.objects.filter(deployment=deployment)
            .select_related("device", "stage")
            .order_by("stage__position", "device__hostname", "kind", "id")
        )
        job_state = request.GET.get("job_state", "")
        if job_state in JobState.values:
            jobs = jobs.filter(state=job_state)
        page = Paginator(jobs, JOB_PAGE_SIZE).get_page(request.GET.get("page"))
        return {
            "tenant": self.tenant,
            "deployment": deployment,
            "final": control.is_final(deployment),
            "progress": control.progress([deployment])[deployment.pk],
            "stages": stages,
            "jobs": page,
            "job_state": job_state,
            "job_states": JobState.choices,
            "actions": control.allowed_actions(deployment)
            if request.access.can(self.tenant.pk, "deployment.manage")
            else [],
            "query": request.GET.urlencode(),
        }


class DeploymentDetailView(_DeploymentMixin, TenantView, View):
    def get(self, request, tenant_slug, pk):
        deployment = self.deployment(pk)
        context = {
            **self.progress_context(deployment),
            "patches": [
                dp.patch for dp in deployment.deployment_patches.select_related("patch").order_by("patch__name")
            ],
        }
        return render(request, "deployments/deployment_detail.html", context)


class DeploymentProgressView(_DeploymentMixin, TenantView, View):
    """The polled fragment: state, progress, stages and jobs; 286 (stop polling) once final."""

    def get(self, request, tenant_slug, pk):
        deployment = self.deployment(pk)
        context = self.progress_context(deployment)
        response = render(request, "deployments/_deployment_progress.html", context)
        if context["final"]:
            response.status_code = STOP_POLLING
        return response


class DeploymentActionView(_DeploymentMixin, TenantView, View):
    """POST pause, resume or cancel (audited by deployments.dispatch)."""

    capability = "deployment.manage"
    http_method_names = ["post"]

    def post(self, request, tenant_slug, pk, action):
        if action not in control.ACTIONS:
            raise Http404("No such action")
        deployment = self.deployment(pk, "deployment.manage")
        reason = request.POST.get("reason", "").strip()[:500]
        try:
            control.act(deployment, action, now=timezone.now(), reason=reason)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            past = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]
            messages.success(request, f"Deployment “{deployment}” {past}.")
        url = reverse("deployment_detail", kwargs={"tenant_slug": self.tenant.slug, "pk": deployment.pk})
        return htmx_redirect(request, url)


class JobLogView(_DeploymentMixin, TenantView, View):
    """One job: its events in order and the agent's output."""

    def get(self, request, tenant_slug, pk, job_pk):
        deployment = self.deployment(pk)
        job = (
            Job.objects.filter(deployment=deployment, pk=job_pk)
            .select_related("device", "stage", "rollback_of")
            .first()
        )
        if job is None:
            raise Http404("No such job")
        context = {
            "tenant": self.tenant,
            "deployment": deployment,
            "job": job,
            "events": job.events.order_by("at", "id"),
            "rollback": Job.objects.filter(rollback_of=job).first(),
        }
        return render(request, "deployments/job_log.html", context)
