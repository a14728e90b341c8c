"""The demo's journeys in a real browser: a live portal, a real Celery worker, real agents.

The technician triages the riskiest finding across tenants, approves it, launches a run-now
deployment through two rings and watches the page's htmx progress until the agents
(`python -m agent once`, simulated back-end) have installed it and the rings have passed.
A client viewer sees the same pages without a single button to act, and a forged POST gets
403. (The client owner's sign-off and report download: test_approval_journeys.py.)
"""

from __future__ import annotations

import json
import threading

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from deployments.models import Deployment, DeploymentStage, Job, JobKind, JobState, Ring, RingMember
from patches.models import Approval, ApprovalState, Finding, PatchPolicy, Scope
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_approval_journeys import sign_in_staff
from tests.deployments.e2e_helpers import FIXED, SimAgent, publish_openssl_advisory, run_all, run_tick
from tests.factories import PASSWORD, DeviceFactory
from tests.fixtures.worker_process import wait_until
from tests.patches.approval_helpers import make_patch, missing

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Generous: the page polls every 5 s, and each round starts agent processes and a tick.
FINISH_TIMEOUT_MS = 240_000


@pytest.fixture(autouse=True)
def _clean_slate():
    from portal.redis import client

    cache.clear()
    client().flushdb()  # the check-in finds jobs through marks in Redis: none may be left over


class Driver:
    """What beat and the machines do in production, round after round, in a thread: the
    deployment tick on the real worker, then every agent's check-in (claim, install, report,
    health, the inventory that verifies)."""

    def __init__(self, agents):
        self.agents = agents
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._loop, name="journey-driver", daemon=True)

    def _loop(self):
        while not self.stop.is_set():
            try:
                run_tick()
                run_all(self.agents)
            except BaseException as error:  # noqa: BLE001 - reported by the test, not lost in the thread
                self.errors.append(error)
                return
            self.stop.wait(0.5)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=180)
        assert not self.errors, self.errors


def test_a_technician_triages_approves_and_watches_a_deployment_finish(
    page, live_server, celery_worker, world, tmp_path
):
    publish_openssl_advisory(timezone.now())
    agents = [SimAgent(tmp_path / name) for name in ("alpha-pilot", "alpha-desk")]
    for agent in agents:
        agent.enroll(live_server.url, world.tenant_a)
    run_all(agents)  # the inventories, which the worker matches
    pilot_device, desk_device = (agent.device for agent in agents)
    wait_until(
        lambda: Finding.objects.filter(device__in=[pilot_device, desk_device], package_name="openssl").count() == 2,
        timeout=120,
        what="the worker to match the uploaded inventories",
    )
    openssl = Finding.objects.filter(device=pilot_device, state="open", package_name="openssl").get()
    top = max(Finding.objects.filter(device=pilot_device, state="open").values_list("score", flat=True))
    assert openssl.score == top
    # Other tenants' findings, less risky: the cross-tenant queue puts openssl for Alpha first.
    bravo_pc = DeviceFactory(tenant=world.tenant_b, hostname="bravo-pc")
    for name, share in (("tzdata", 0.5), ("libxml2", 0.25)):
        missing(bravo_pc, make_patch(name, severity="medium"), score=round(top * share, 1))
    pilot = Ring.objects.create(tenant=world.tenant_a, name="Pilot", position=0, soak_hours=0, gate_min_devices=1)
    RingMember.objects.create(tenant=world.tenant_a, ring=pilot, device=pilot_device)
    Ring.objects.create(tenant=world.tenant_a, name="Broad", position=1, catch_all=True, soak_hours=0)

    sign_in_staff(page, world.tech_all)
    screenshot(page, "dashboard")

    # Triage: the queue across tenants, riskiest first; open the first one.
    page.goto("/approvals/")
    expect(page.get_by_role("heading", name="Approval queue")).to_be_visible()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Alpha Dental")
    expect(rows.nth(0)).to_contain_text("openssl")
    expect(rows.nth(1)).to_contain_text("Bravo Legal")
    screenshot(page, "approvals")
    rows.nth(0).get_by_role("link", name="openssl").click()
    expect(page.get_by_role("heading", name="openssl")).to_be_visible()
    expect(page.get_by_role("cell", name="Alpha Dental")).to_be_visible()  # missing on its two devices

    # Approve it from the queue, filtered to this patch.
    page.get_by_role("link", name="In the approval queue").click()
    page.get_by_label(f"Select {openssl.patch} for Alpha Dental").check()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("Approved 1 patch.")).to_be_visible()
    approval = Approval.objects.get(tenant=world.tenant_a, patch__name="openssl")
    assert (approval.state, approval.decided_by) == (ApprovalState.APPROVED, world.tech_all)

    # The tenant's findings, riskiest first, for the screenshot and a look at what will go.
    page.goto(f"/t/{world.tenant_a.slug}/findings/")
    expect(page.get_by_text("openssl").first).to_be_visible()
    screenshot(page, "findings")

    # Launch: to the rings in order, now (the emergency override, with its reason).
    page.goto(f"/t/{world.tenant_a.slug}/deployments/new/")
    page.get_by_label("Name").fill("openssl now")
    page.get_by_label(f"openssl {FIXED}", exact=False).check()
    page.get_by_label("Run now (emergency)").check()
    page.get_by_label("I confirm the emergency override", exact=False).check()
    page.get_by_label("Why it cannot wait").fill("Remote code execution in openssl")
    page.get_by_role("button", name="Create the deployment").click()
    page.wait_for_url(f"**/t/{world.tenant_a.slug}/deployments/*/")
    expect(page.get_by_text("Deployment “openssl now” created for 2 devices.")).to_be_visible()
    deployment = Deployment.objects.get(tenant=world.tenant_a, name="openssl now")
    assert deployment.run_now
    stages = page.locator("table.stages tbody tr")
    expect(stages).to_have_count(2)

    # Watch: the page polls its progress with htmx while the machines work.
    # A marker on the window shows that the page was updated in place, never reloaded.
    # (How long it stays "Running" depends on the machine, so the test does not wait to see it.)
    page.evaluate("window.watchedInPlace = true")
    with Driver(agents):
        expect(page.locator(".deployment-state .badge").first).to_have_text(
            "Completed", timeout=FINISH_TIMEOUT_MS, use_inner_text=True
        )
    assert page.evaluate("window.watchedInPlace === true")
    expect(stages.nth(0)).to_contain_text("Passed")
    expect(stages.nth(1)).to_contain_text("Passed")
    expect(page.locator(".stat.good .value")).to_have_text("2")
    screenshot(page, "deployment-detail")

    installs = Job.objects.filter(deployment=deployment, kind=JobKind.INSTALL)
    assert sorted(installs.values_list("device__hostname", "stage__name", "state")) == sorted(
        [
            (pilot_device.hostname, "Pilot", JobState.VERIFIED),
            (desk_device.hostname, "Broad", JobState.VERIFIED),
        ]
    )
    assert set(DeploymentStage.objects.filter(deployment=deployment).values_list("state", flat=True)) == {"passed"}
    assert all(agent.packages()["openssl"] == FIXED for agent in agents)


def test_a_client_viewer_sees_the_pages_but_cannot_act(page, world):
    tenant = world.tenant_a
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=tenant, settings={"requires_client_approval": True})
    device = DeviceFactory(tenant=tenant, hostname="alpha-pc")
    patch = make_patch("openssl", title="openssl 3.0.16-1~deb12u1", severity="critical")
    missing(device, patch, score=80.0)
    now = timezone.now()
    approval = Approval.objects.create(
        patch=patch,
        scope=Scope.TENANT,
        tenant=tenant,
        state=ApprovalState.PENDING,
        decided_by=world.tech_all,
        decided_at=now,
        needs_client=True,
        client_requested_at=now,
    )
    deployment = Deployment.objects.create(tenant=tenant, name="Monthly updates", created_by=world.tech_all)

    sign_in(page, world.viewer_a.email, PASSWORD)
    page.wait_for_url(f"**/t/{tenant.slug}/")
    expect(page.get_by_role("heading", name="Alpha Dental")).to_be_visible()

    page.goto(f"/t/{tenant.slug}/sign-off/")
    item = page.get_by_role("region", name="openssl 3.0.16-1~deb12u1")
    expect(item).to_be_visible()
    expect(item.get_by_text("Only the company\u2019s owner approves or declines.")).to_be_visible()
    expect(page.locator("main").get_by_role("button")).to_have_count(0)  # nothing to press on the page

    page.goto(f"/t/{tenant.slug}/deployments/")
    expect(page.get_by_role("link", name="Monthly updates")).to_be_visible()
    expect(page.get_by_role("link", name="New deployment")).to_have_count(0)
    page.goto(f"/t/{tenant.slug}/deployments/{deployment.pk}/")
    expect(page.get_by_role("heading", name="Monthly updates")).to_be_visible()
    for name in ("Pause", "Resume", "Cancel"):
        expect(page.locator("main").get_by_role("button", name=name)).to_have_count(0)

    page.goto(f"/t/{tenant.slug}/reports/")
    expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    expect(page.get_by_role("link", name="New report")).to_have_count(0)

    # The buttons are missing because the role may not act: a forged POST is refused.
    headers = json.loads(page.locator("body").get_attribute("hx-headers"))  # the page's own CSRF token
    answer = page.request.post(
        f"/t/{tenant.slug}/sign-off/{approval.pk}/", form={"decision": "approve"}, headers=headers
    )
    assert answer.status == 403
    answer = page.request.post(f"/t/{tenant.slug}/deployments/{deployment.pk}/cancel/", headers=headers)
    assert answer.status == 403
    approval.refresh_from_db()
    deployment.refresh_from_db()
    assert (approval.state, approval.client_decided_by) == (ApprovalState.PENDING, None)
    assert deployment.state == Deployment.State.SCHEDULED
