"""The agent's job and health endpoints over the test client (agent/PROTOCOL.md, "Jobs")."""

from __future__ import annotations

import uuid

import pytest

from deployments.models import Deployment, HealthReport, Job, JobState
from devices.models import Device
from patches.scripts import create_script
from portal import signing
from portal.redis import client as redis_client
from tests.devices.agent_helpers import enroll, post
from tests.fixtures.personas import sign_in

pytestmark = pytest.mark.django_db
PAYLOAD = {
    "packages": [{"manager": "apt", "name": "openssl", "version": "3.0.15-1~deb12u1"}],
    "reboot": "if_required",
    "pre_script": {"name": "stop-app", "version": 2, "interpreter": "sh", "body": "echo stopping\n"},
}


@pytest.fixture(autouse=True)
def _clean_redis():
    redis_client().flushdb()
    yield
    redis_client().flushdb()


@pytest.fixture
def agent(client, world):
    body = enroll(client, world.tenant_a)
    return body["device_token"], Device.objects.get(uid=body["device_id"])


def queued(device, **fields):
    fields.setdefault("payload", PAYLOAD)
    return Job.objects.create(tenant=device.tenant, device=device, state=JobState.QUEUED, **fields)


def claim_one(client, token):
    response = post(client, "jobs/claim", {}, token)
    assert response.status_code == 200, response.content
    (job,) = response.json()["jobs"]
    return job


def test_claim_returns_the_job_with_its_lease_and_signed_scripts(client, world, agent):
    token, device = agent
    job = queued(device)
    answer = claim_one(client, token)
    assert answer["id"] == job.pk and answer["kind"] == "install" and answer["attempt"] == 1
    assert uuid.UUID(answer["lease_id"]) and answer["lease_seconds"] == 600 and answer["dry_run"] is False
    assert answer["payload"]["packages"] == PAYLOAD["packages"] and answer["payload"]["reboot"] == "if_required"
    envelope = answer["scripts"]["pre"]
    assert envelope["kid"] == signing.public_jwk()["kid"]
    assert envelope["payload"]["body"] == "echo stopping\n" and envelope["payload"]["job"] == str(job.pk)
    assert envelope["payload"]["version"] == 2
    assert answer["scripts"]["post"] is None
    job.refresh_from_db()
    assert job.state == JobState.CLAIMED and str(job.lease_id) == answer["lease_id"]
    assert post(client, "jobs/claim", {}, token).json()["jobs"] == []


def test_a_portal_script_and_a_dry_run_deployment_reach_the_agent(client, world, agent):
    token, device = agent
    script = create_script(name="check-web", body="curl -fsS localhost\n", user=None)
    deployment = Deployment.objects.create(tenant=world.tenant_a, name="d", state="running", dry_run=True)
    queued(device, deployment=deployment, payload={"reboot": "never", "health_script": script.pk})
    answer = claim_one(client, token)
    assert answer["dry_run"] is True
    assert answer["scripts"]["health"]["payload"]["name"] == "check-web"
    assert answer["scripts"]["health"]["payload"]["body"] == "curl -fsS localhost\n"


def test_progress_and_result_and_idempotent_retry(client, world, agent):
    token, device = agent
    job = queued(device)
    lease = claim_one(client, token)["lease_id"]
    response = post(client, f"jobs/{job.pk}/progress", {"lease_id": lease, "state": "running", "message": "go"}, token)
    assert response.status_code == 200 and response.json()["state"] == "running"

    result = {"lease_id": lease, "result_key": "r-1234567890", "outcome": "succeeded", "exit_code": 0, "output": "ok"}
    first = post(client, f"jobs/{job.pk}/result", result, token)
    assert first.status_code == 200 and first.json()["state"] == "succeeded"
    again = post(client, f"jobs/{job.pk}/result", result, token)
    assert again.status_code == 200 and again.json() == first.json()

    other = post(client, f"jobs/{job.pk}/result", {**result, "result_key": "r-other-0001", "outcome": "failed"}, token)
    assert other.status_code == 409 and "already has a result" in other.json()["detail"]


def test_a_wrong_lease_is_a_conflict(client, world, agent):
    token, device = agent
    job = queued(device)
    claim_one(client, token)
    wrong = str(uuid.uuid4())
    response = post(client, f"jobs/{job.pk}/progress", {"lease_id": wrong, "state": "running"}, token)
    assert response.status_code == 409 and "lease" in response.json()["detail"]
    result = {"lease_id": wrong, "result_key": "r-1234567890", "outcome": "succeeded"}
    assert post(client, f"jobs/{job.pk}/result", result, token).status_code == 409


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("jobs/claim", {"limit": 0}, "limit"),
        ("jobs/{id}/progress", {"lease_id": "not-a-uuid", "state": "running"}, "lease_id"),
        ("jobs/{id}/progress", {"lease_id": str(uuid.uuid4()), "state": "done"}, "state"),
        ("jobs/{id}/result", {"lease_id": str(uuid.uuid4()), "result_key": "x", "outcome": "succeeded"}, "result_key"),
        ("jobs/{id}/result", {"lease_id": str(uuid.uuid4()), "result_key": "abcdefgh1"}, "outcome"),
        (
            "jobs/{id}/result",
            {"lease_id": str(uuid.uuid4()), "result_key": "abcdefgh1", "outcome": "succeeded", "exit_code": "zero"},
            "exit_code",
        ),
        ("health", {"checks": []}, "checks"),
        ("health", {"checks": [{"name": "agent"}]}, "checks[0].ok"),
    ],
)
def test_a_bad_payload_is_a_400_naming_the_field(client, world, agent, path, body, field):
    token, device = agent
    job = queued(device)
    response = post(client, path.format(id=job.pk), body, token)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()


@pytest.mark.parametrize("path", ["jobs/claim", "jobs/1/progress", "jobs/1/result", "health"])
def test_no_token_is_a_401(client, world, path):
    assert post(client, path, {}).status_code == 401
    assert post(client, path, {}, "pdt_unknown").status_code == 401


def test_another_devices_job_is_a_404(client, world, agent):
    token, _ = agent
    other = enroll(client, world.tenant_a, hostname="web-02", machine_id="m-2")
    other_job = queued(Device.objects.get(uid=other["device_id"]))
    lease = claim_one(client, other["device_token"])["lease_id"]
    foreign = enroll(client, world.tenant_b, hostname="b-01", machine_id="m-3")
    foreign_job = queued(Device.objects.get(uid=foreign["device_id"]))
    for job in (other_job, foreign_job):
        response = post(client, f"jobs/{job.pk}/progress", {"lease_id": lease, "state": "running"}, token)
        assert response.status_code == 404
        result = {"lease_id": lease, "result_key": "r-1234567890", "outcome": "succeeded"}
        assert post(client, f"jobs/{job.pk}/result", result, token).status_code == 404
    assert post(client, "jobs/999999/result", result, token).status_code == 404
    assert post(client, "jobs/claim", {}, token).json()["jobs"] == []  # nothing of the others' is claimed
    other_job.refresh_from_db()
    assert other_job.state == JobState.CLAIMED


def test_health_reports_are_stored_and_healthy_only_when_every_check_is_ok(client, world, agent):
    token, device = agent
    job = queued(device)
    good = {"job": job.pk, "checks": [{"name": "agent", "ok": True}, {"name": "service:nginx", "ok": True}]}
    response = post(client, "health", good, token)
    assert response.status_code == 201 and response.json()["healthy"] is True
    bad = {"checks": [{"name": "agent", "ok": True}, {"name": "service:nginx", "ok": False, "detail": "inactive"}]}
    assert post(client, "health", bad, token).json()["healthy"] is False
    reports = list(HealthReport.objects.filter(device=device).order_by("received_at"))
    assert [r.healthy for r in reports] == [True, False] and reports[0].job_id == job.pk
    assert reports[1].checks[1] == {"name": "service:nginx", "ok": False, "detail": "inactive"}

    foreign = enroll(client, world.tenant_b, hostname="b-01", machine_id="m-3")
    foreign_job = queued(Device.objects.get(uid=foreign["device_id"]))
    response = post(client, "health", {**good, "job": foreign_job.pk}, token)
    assert response.status_code == 400 and "job" in response.json()["errors"]


def test_the_openapi_schema_has_the_job_routes(client, world):
    sign_in(client, world.tech_all)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/agent/v1/jobs/claim",
        "/api/agent/v1/jobs/{id}/progress",
        "/api/agent/v1/jobs/{id}/result",
        "/api/agent/v1/health",
    ):
        assert path in schema["paths"], sorted(schema["paths"])
    result = schema["paths"]["/api/agent/v1/jobs/{id}/result"]["post"]
    assert {"200", "404", "409"} <= set(result["responses"])
