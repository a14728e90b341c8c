"""The agent's job and health endpoints (/api/agent/v1/jobs/…, /api/agent/v1/health).

Like the rest of the agent API these views authenticate the device token themselves and
open the device's tenant scope; a job of another device is answered with 404.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from deployments import jobs as job_service
from deployments.agent_api import serializers as s
from deployments.models import HealthReport, Job
from devices.agent_api.auth import authenticate_device
from devices.agent_api.errors import AgentError, PayloadInvalid, validate
from devices.agent_api.views import AgentView, serve_json_post
from portal import signing
from portal.db_scope import tenant_scope

NOT_OWN = OpenApiResponse(description="Not this device's job.")
CONFLICT = OpenApiResponse(description="The lease is not the job's current one, or the job already has a result.")


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def _script(job: Job, spec, now) -> dict | None:
    """A signed envelope for the script the payload names (inline, or a portal script by id)."""
    if not spec:
        return None
    if isinstance(spec, dict) and "body" in spec:
        name, version = spec.get("name") or "script", int(spec.get("version") or 1)
        interpreter, body = spec.get("interpreter") or "sh", spec["body"]
    else:
        from patches.models import ScriptVersion

        script_id = spec.get("script_id") if isinstance(spec, dict) else spec
        versions = ScriptVersion.objects.select_related("script").filter(script_id=script_id)
        number = spec.get("version") if isinstance(spec, dict) else None
        with tenant_scope([job.tenant_id]):
            version_row = versions.filter(number=number).first() if number else versions.order_by("-number").first()
        if version_row is None:
            return None
        name, version = version_row.script.name, version_row.number
        interpreter, body = version_row.script.interpreter, version_row.body
    return signing.sign_script(name, version, interpreter, body, job=str(job.pk), now=now)


def job_for_agent(job: Job, now) -> dict:
    payload = job.payload or {}
    deployment_dry_run = getattr(job, "deployment_dry_run", None)
    if deployment_dry_run is None and job.deployment_id:
        with tenant_scope([job.tenant_id]):
            deployment_dry_run = job.deployment.dry_run
    return {
        "id": job.pk,
        "kind": job.kind,
        "lease_id": str(job.lease_id),
        "lease_expires_at": _iso(job.lease_expires_at),
        "lease_seconds": int((job.lease_expires_at - now).total_seconds()),
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "dry_run": bool(payload.get("dry_run")) or bool(deployment_dry_run),
        "not_after": _iso(job.not_after),
        "payload": {
            "packages": list(payload.get("packages") or []),
            "windows_updates": list(payload.get("windows_updates") or []),
            "winget": list(payload.get("winget") or []),
            "reboot": payload.get("reboot") or "if_required",
            "health_services": list(payload.get("health_services") or []),
        },
        "scripts": {
            "pre": _script(job, payload.get("pre_script"), now),
            "post": _script(job, payload.get("post_script"), now),
            "health": _script(job, payload.get("health_script"), now),
        },
    }


def _job_state(job: Job) -> dict:
    return {
        "id": job.pk,
        "state": job.state,
        "attempt": job.attempt,
        "not_before": _iso(job.not_before),
        "lease_expires_at": _iso(job.lease_expires_at),
    }


def _own_job(agent_device, pk: int) -> Job:
    job = Job.objects.filter(pk=pk, device_id=agent_device.id).first()
    if job is None:
        raise AgentError(404, "No such job for this device.")
    return job


def _change_own_job(request, pk: int, serializer, body: dict, change) -> Response:
    """Progress and result: the device's own job, changed under its lease; a lease or state
    the change refuses is a 409."""
    agent_device = authenticate_device(request)
    data = validate(serializer, body)
    with tenant_scope([agent_device.tenant_id]):
        job = _own_job(agent_device, pk)
        try:
            job = change(job, data, timezone.now())
        except job_service.JobError as exc:
            raise AgentError(409, str(exc)) from None
    return Response(_job_state(job))


def _claim(request, body: dict) -> dict:
    agent_device = authenticate_device(request)
    data = validate(s.ClaimSerializer, body)
    now = timezone.now()
    # The claim opens the device's tenant scope itself; job_for_agent opens it again only for
    # what it has to read (a portal script). One transaction: if the answer cannot be built
    # (a script that cannot be signed), the jobs are not left leased to an agent that never
    # heard of them.
    with transaction.atomic():
        claimed = job_service.claim(agent_device, now=now, limit=data["limit"])
        jobs = [job_for_agent(job, now) for job in claimed]
    return {"jobs": jobs, "server_time": _iso(now)}


class ClaimView(AgentView):
    """Every agent with work calls this; like the check-in, POST is served without DRF's
    request and response wrapping, and the DRF method documents the same contract."""

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST":
            return super().dispatch(request, *args, **kwargs)
        return serve_json_post(request, _claim)

    @extend_schema(
        request=s.ClaimSerializer,
        responses=s.ClaimResponseSerializer,
        tags=["agent"],
        summary="Lease the jobs that are due for this device",
    )
    def post(self, request):
        return Response(_claim(request, self.body(request)))


class JobProgressView(AgentView):
    @extend_schema(
        request=s.ProgressSerializer,
        responses={
            200: s.JobStateSerializer,
            404: NOT_OWN,
            409: CONFLICT,
        },
        tags=["agent"],
        summary="Report that a claimed job is running or about to reboot; extends the lease",
    )
    def post(self, request, pk: int):
        def progress(job, data, now):
            return job_service.record_progress(
                job, lease_id=data["lease_id"], state=data["state"], message=data["message"], now=now
            )

        return _change_own_job(request, pk, s.ProgressSerializer, self.body(request), progress)


class JobResultView(AgentView):
    @extend_schema(
        request=s.ResultSerializer,
        responses={
            200: s.JobStateSerializer,
            404: NOT_OWN,
            409: CONFLICT,
        },
        tags=["agent"],
        summary="Report a job's outcome; the same result_key again changes nothing",
    )
    def post(self, request, pk: int):
        def result(job, data, now):
            return job_service.record_result(
                job,
                lease_id=data["lease_id"],
                result_key=data["result_key"],
                outcome=data["outcome"],
                exit_code=data["exit_code"],
                output=data["output"],
                reboot_required=data["reboot_required"],
                now=now,
            )

        return _change_own_job(request, pk, s.ResultSerializer, self.body(request), result)


class HealthView(AgentView):
    @extend_schema(
        request=s.HealthSerializer,
        responses={201: s.HealthResponseSerializer},
        tags=["agent"],
        summary="Report the device's health checks (after a job, and on the agent's schedule)",
    )
    def post(self, request):
        agent_device = authenticate_device(request)
        data = validate(s.HealthSerializer, self.body(request))
        checks = [{"name": c["name"], "ok": c["ok"], "detail": c["detail"]} for c in data["checks"]]
        with tenant_scope([agent_device.tenant_id]):
            if data["job"] is not None and not Job.objects.filter(pk=data["job"], device_id=agent_device.id).exists():
                raise PayloadInvalid({"job": ["No such job for this device."]})
            report = HealthReport.objects.create(
                tenant_id=agent_device.tenant_id,
                device_id=agent_device.id,
                job_id=data["job"],
                received_at=timezone.now(),
                healthy=all(c["ok"] for c in checks),
                checks=checks,
            )
        return Response({"id": report.pk, "healthy": report.healthy}, status=201)
