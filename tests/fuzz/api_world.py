"""The data the API fuzzing runs against: two tenants with everything the API serves.

Every name, hostname and e-mail of a tenant is a marker no fuzzer would produce by chance, so
a response to a caller confined to one tenant can be scanned for the other tenant's markers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.apps import apps
from django.utils import timezone

from advisories.models import FeedRun, FeedSource
from devices.models import EnrollmentToken
from patches import scripts
from patches.models import Finding, Scope
from patches.risk_acceptance import accept_risk
from tenants.models import ApiToken
from tenants.models.tokens import hash_token
from tests.deployments.deployment_ui_helpers import build_scene
from tests.patches.policy_helpers import policy

__all__ = ["PATH_OBJECTS", "PERSONAS", "FuzzWorld", "build_fuzz_world"]

# The seven roles of tests/fixtures/personas.py, and nobody.
PERSONAS = ("msp_admin", "tech_all", "tech_a", "owner_a", "viewer_a", "owner_b", "viewer_b", "anonymous")
# Whose data each persona may see: None is every tenant.
CONFINED_TO = {
    "tech_a": "a",
    "owner_a": "a",
    "viewer_a": "a",
    "owner_b": "b",
    "viewer_b": "b",
    "device_a": "a",
    "device_b": "b",
}

# The objects behind a path parameter, by the path's collection: real values are mixed into the
# generated ones, so that the fuzzing reaches objects of both tenants and not only 404s.
PATH_OBJECTS = {
    "/api/v1/tenants/": ("tenants.Tenant", "slug"),
    "/api/v1/sites/": ("tenants.Site", "pk"),
    "/api/v1/memberships/": ("tenants.Membership", "pk"),
    "/api/v1/users/": ("tenants.User", "pk"),
    "/api/v1/audit/": ("tenants.AuditEntry", "pk"),
    "/api/v1/tokens/": ("tenants.ApiToken", "pk"),
    "/api/v1/devices/": ("devices.Device", "uid"),
    "/api/v1/device-groups/": ("devices.DeviceGroup", "pk"),
    "/api/v1/enrollment-tokens/": ("devices.EnrollmentToken", "pk"),
    "/api/v1/advisories/": ("advisories.Advisory", "advisory_id"),
    "/api/v1/feed-sources/": ("advisories.FeedSource", "pk"),
    "/api/v1/feed-runs/": ("advisories.FeedRun", "pk"),
    "/api/v1/findings/": ("patches.Finding", "pk"),
    "/api/v1/patches/": ("patches.Patch", "pk"),
    "/api/v1/approvals/": ("patches.Approval", "pk"),
    "/api/v1/policies/": ("patches.PatchPolicy", "pk"),
    "/api/v1/exceptions/": ("patches.RiskException", "pk"),
    "/api/v1/scripts/": ("patches.Script", "pk"),
    "/api/v1/rings/": ("deployments.Ring", "pk"),
    "/api/v1/windows/": ("deployments.MaintenanceWindow", "pk"),
    "/api/v1/blackouts/": ("deployments.BlackoutPeriod", "pk"),
    "/api/v1/deployments/": ("deployments.Deployment", "pk"),
    "/api/v1/jobs/": ("deployments.Job", "pk"),
    "/api/agent/v1/jobs/": ("deployments.Job", "pk"),
}


@dataclass
class FuzzWorld:
    headers: dict[str, dict[str, str]]  # persona -> request headers
    markers: dict[str, list[str]]  # "a"/"b" -> strings only that tenant's data contains
    path_values: dict[str, list]  # PATH_OBJECTS key -> real values
    enrollment_tokens: list[str] = field(default_factory=list)

    def foreign_markers(self, persona: str) -> list[str]:
        if persona == "anonymous":
            return self.markers["a"] + self.markers["b"]
        own = CONFINED_TO.get(persona)
        if own is None:
            return []
        return self.markers["b" if own == "a" else "a"]


def build_fuzz_world(world) -> FuzzWorld:
    scenes = {"a": build_scene(world, world.tenant_a), "b": build_scene(world, world.tenant_b)}
    now = timezone.now()
    policy(Scope.GLOBAL, {"reboot": "never"})
    for key, tenant in (("a", world.tenant_a), ("b", world.tenant_b)):
        scene = scenes[key]
        policy(Scope.TENANT, {"deadline_days": 5}, tenant=tenant)
        accept_risk(
            tenant=tenant,
            owner=world.user(f"owner_{key}"),
            reason="Replaced next quarter",
            expires_on=(now + dt.timedelta(days=30)).date(),
            user=world.tech_all,
            now=now,
            finding=Finding.objects.get(device=scene.devices[1], patch=scene.patch),
        )
    scripts.create_script(name="Stop services", body="systemctl stop app\n", user=world.msp_admin)
    source = FeedSource.objects.create(name="OSV offline", kind="osv", url="/nonexistent")
    FeedRun.objects.create(source=source, kind="osv", location=source.url, status=FeedRun.Status.SUCCESS)
    headers = {"anonymous": {}}
    # Far in the future, so the coarse last-used stamp is not written on every request.
    fresh = timezone.now() + dt.timedelta(days=1)
    for persona in PERSONAS[:-1]:
        token, raw = ApiToken.issue(world.user(persona), "fuzz")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=fresh)
        headers[persona] = {"Authorization": f"Bearer {raw}"}
    for key in ("a", "b"):
        # The pilot device has the jobs of the running deployment.
        device = scenes[key].devices[0]
        raw = f"pdt_fuzz-{key}-{device.uid.hex}"
        device.token_hash = hash_token(raw)
        device.save(update_fields=["token_hash"])
        headers[f"device_{key}"] = {"Authorization": f"Bearer {raw}"}
    enrollment = [EnrollmentToken.issue(tenant, "fuzz")[1] for tenant in (world.tenant_a, world.tenant_b)]

    markers = {}
    for key, tenant in (("a", world.tenant_a), ("b", world.tenant_b)):
        tenant.refresh_from_db()
        devices = scenes[key].devices
        markers[key] = [
            tenant.name,
            *tenant.sites.values_list("name", flat=True),
            *tenant.memberships.filter(user__msp_role="").values_list("user__email", flat=True),
            *(device.hostname for device in devices),
            *(str(device.uid) for device in devices),
        ]
    path_values = {}
    for prefix, (label, attribute) in PATH_OBJECTS.items():
        model = apps.get_model(label)
        values = model.objects.order_by("pk").values_list(attribute, flat=True)
        path_values[prefix] = [str(v) if not isinstance(v, int) else v for v in values]
    return FuzzWorld(headers, markers, path_values, enrollment)
