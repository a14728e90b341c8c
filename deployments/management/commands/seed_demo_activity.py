"""The demo's day at work, once its simulated fleet has reported (DEMO_MODE only; idempotent).

After `seed_demo`, `seed_demo_rollout`, the advisories and `simulate_fleet`: matches the
fleet, has the technician approve each client's riskiest patches (Contoso's policy sends
them to the client for sign-off; the rest of the queue stays waiting), puts the first
devices that miss them into the Pilot and Early rings (by tag), launches a run-now
deployment through the rings for Northwind and Fabrikam, and files this month's report and
each deployment's report in the archive, rendered by the product's own report functions.

Running it again changes nothing: each step is skipped where its result already exists.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from deployments import control
from deployments.models import Deployment
from deployments.planning import missing_pairs
from devices.models import Device
from patches.approvals import decide
from patches.matching import engine
from patches.models import Approval, PatchPolicy, Scope
from patches.queue import approval_queue
from portal.db_scope import system_scope, tenant_scope
from reports.models import Report, ReportKind
from reports.services import create_report, render_safely
from reports.snapshots.common import zone
from reports.snapshots.monthly import month_of
from tenants import audit
from tenants.models import Tenant, User

TECHNICIAN = "tech@msp.example"
DEPLOYMENT_NAME = "Security updates (demo)"
PILOT_DEVICES, EARLY_DEVICES = 2, 4
# slug -> (patches the technician approves, whether the client signs off, whether to deploy)
PLAN = {
    "northwind": (5, False, True),
    "contoso": (2, True, False),
    "fabrikam": (5, False, True),
}


class Command(BaseCommand):
    help = "Approvals, a deployment through the rings and reports for the demo tenants (after the fleet)."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("seed_demo_activity runs only with DEMO_MODE=true.")
        now = timezone.now()
        with system_scope(), audit.acting_as(audit.Actor(None, "seed_demo", "cli")):
            technician = User.objects.filter(email=TECHNICIAN).first()
            if technician is None:
                raise CommandError("Run seed_demo first: the demo technician is missing.")
            tenants = list(Tenant.objects.filter(slug__in=PLAN).order_by("name"))
            for tenant in tenants:
                self._fleet(tenant, now)
        for tenant in tenants:
            approve, client_signs, deploy = PLAN[tenant.slug]
            with tenant_scope([tenant.pk]), audit.acting_as(audit.Actor(technician.pk, technician.email, "cli")):
                if client_signs:
                    PatchPolicy.objects.get_or_create(
                        scope=Scope.TENANT, tenant=tenant, defaults={"settings": {"requires_client_approval": True}}
                    )
                approved = self._approve(tenant, technician, approve, now)
                self._tag_rings(tenant, approved)
                if deploy:
                    self._deploy(tenant, technician, approved, now)
            with tenant_scope([tenant.pk]):
                self._reports(tenant, now)
                self.stdout.write(f"{tenant.name}: {self._summary(tenant)}")

    def _fleet(self, tenant, now):
        """Match the devices now (the worker may still be at it after their uploads)."""
        device_ids = list(Device.objects.filter(tenant=tenant).active().values_list("pk", flat=True))
        if device_ids:
            engine.match_devices(device_ids, now=now)

    def _tag_rings(self, tenant, patches):
        """Pilot and Early: the first devices (by name) that miss an approved patch, tagged once."""
        devices = Device.objects.filter(tenant=tenant).active()
        if not patches or devices.exclude(tags=[]).exists():
            return
        ids = list(devices.values_list("pk", flat=True))
        missing = missing_pairs(tenant.pk, ids, [p.pk for p in patches])
        chosen = devices.filter(pk__in=[pk for pk, found in missing.items() if found]).order_by("hostname")
        for index, pk in enumerate(chosen.values_list("pk", flat=True)[: PILOT_DEVICES + EARLY_DEVICES]):
            Device.objects.filter(pk=pk).update(tags=["pilot" if index < PILOT_DEVICES else "early"])

    def _approve(self, tenant, technician, count, now) -> list:
        """The tenant's riskiest patches, approved once; what the technician approved before otherwise."""
        decided = Approval.objects.filter(tenant=tenant, scope=Scope.TENANT, decided_by=technician)
        if not decided.exists():
            items = approval_queue([tenant], now, statuses=("undecided",))
            patches = [item.patch for item in items[:count]]
            if patches:
                decide(
                    patches, action="approve", user=technician, now=now, tenant=tenant, comment="Demo: riskiest first"
                )
        return [a.patch for a in decided.filter(state="approved", needs_client=False).select_related("patch")]

    def _deploy(self, tenant, technician, patches, now):
        if not patches or Deployment.objects.filter(tenant=tenant, name=DEPLOYMENT_NAME).exists():
            return
        control.launch(
            tenant,
            user=technician,
            now=now,
            run_now_reason="Demo: the riskiest findings go out through the rings at once.",
            name=DEPLOYMENT_NAME,
            patches=patches,
            run_now=True,
            batch_interval_minutes=0,
        )

    def _reports(self, tenant, now):
        """This month's report, and a report for each deployment, rendered once."""
        start, end = month_of(now.astimezone(zone(tenant)).date())
        if not Report.objects.filter(tenant=tenant, kind=ReportKind.MONTHLY, period_start=start).exists():
            render_safely(create_report(tenant, ReportKind.MONTHLY, now=now, start=start, end=end))
        for deployment in Deployment.objects.filter(tenant=tenant, name=DEPLOYMENT_NAME):
            if not Report.objects.filter(tenant=tenant, deployment=deployment).exists():
                render_safely(create_report(tenant, ReportKind.DEPLOYMENT, now=now, deployment_id=deployment.pk))

    @staticmethod
    def _summary(tenant) -> str:
        devices = Device.objects.filter(tenant=tenant).active().count()
        approvals = Approval.objects.filter(tenant=tenant).count()
        deployments = Deployment.objects.filter(tenant=tenant).count()
        reports = Report.objects.filter(tenant=tenant).count()
        return f"{devices} devices, {approvals} approvals, {deployments} deployments, {reports} reports"
