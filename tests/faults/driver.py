"""What an MSP technician does through the portal, run against a throwaway stack.

`python -m tests.faults.driver` reads one JSON command per line on stdin, runs it with the
portal's own code (portal.settings, pointed at the throwaway PostgreSQL and Redis by the
environment) and answers one line `@@ {"result": …}` or `@@ {"error": …}` on stdout. One
process serves a whole test, so Django starts once; every command opens a fresh
database connection, so a PostgreSQL restart between two commands does no harm.

The commands are the set-up steps the fault tests share: a tenant with staff and an
enrollment token, an advisory that every simulated machine misses, approving the patch,
rings, a deployment, and a signed-in staff session for reading the portal's pages.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import traceback

import django

COMMANDS = {}


def command(function):
    COMMANDS[function.__name__] = function
    return function


@command
def seed() -> dict:
    from django.utils import timezone

    from devices.models import EnrollmentToken
    from tenants.roles import MspRole
    from tests.deployments.e2e_helpers import publish_openssl_advisory
    from tests.factories import TenantFactory, TOTPDeviceFactory, UserFactory

    tenant = TenantFactory(name="Faulty Dental", slug="faulty")
    admin = UserFactory(email="admin@msp.test", msp_role=MspRole.ADMIN)
    TOTPDeviceFactory(user=admin)
    tech = UserFactory(email="tech@msp.test", msp_role=MspRole.TECHNICIAN, all_tenants=True)
    TOTPDeviceFactory(user=tech)
    _, raw = EnrollmentToken.issue(tenant, "fault tests")
    publish_openssl_advisory(timezone.now())
    return {"tenant": tenant.pk, "slug": tenant.slug, "token": raw}


def _tenant():
    from tenants.models import Tenant

    return Tenant.objects.get(slug="faulty")


def _tech():
    from tenants.models import User

    return User.objects.get(email="tech@msp.test")


def _devices(machine_ids: list[str]) -> list:
    from devices.models import Device

    by_machine = {d.machine_id: d for d in Device.objects.filter(machine_id__in=machine_ids)}
    return [by_machine[m] for m in machine_ids]


@command
def approve(machine_id: str) -> int:
    """Approve the openssl patch the device misses (two days ago, so it is in force at once)."""
    from django.utils import timezone

    from patches.approvals import decide
    from patches.models import Finding

    (device,) = _devices([machine_id])
    patch = Finding.objects.get(device=device, state="open", package_name="openssl").patch
    decide([patch], action="approve", user=_tech(), now=timezone.now() - dt.timedelta(days=2), tenant=_tenant())
    return patch.pk


@command
def rings(pilot: list[str]) -> list[int]:
    """A pilot ring of these machines (no soak, one verified device passes its gate), then the rest."""
    from deployments.models import Ring, RingMember

    tenant = _tenant()
    first = Ring.objects.create(
        tenant=tenant,
        name="Pilot",
        position=0,
        soak_hours=0,
        gate_min_success_percent=100,
        gate_min_devices=1,
        halt_failure_percent=20,
    )
    for device in _devices(pilot):
        RingMember.objects.create(tenant=tenant, ring=first, device=device)
    broad = Ring.objects.create(tenant=tenant, name="Broad", position=1, catch_all=True, soak_hours=0)
    return [first.pk, broad.pk]


@command
def deploy(patch: int, machines: list[str] | None = None, **options) -> int:
    """Create a deployment (all rings, or only `machines`); the worker dispatches it on commit."""
    from django.utils import timezone

    from deployments.planning import create_deployment
    from patches.models import Patch

    devices = _devices(machines) if machines else None
    plan = create_deployment(
        _tenant(),
        name="openssl",
        patches=[Patch.objects.get(pk=patch)],
        devices=devices,
        user=_tech(),
        now=timezone.now(),
        **options,
    )
    return plan.deployment.pk


@command
def session() -> str:
    """A signed-in MSP admin session (2FA passed), as the browser would hold it."""
    from django.conf import settings
    from django.test import Client

    from tenants.models import User
    from tests.fixtures.personas import sign_in

    client = sign_in(Client(), User.objects.get(email="admin@msp.test"))
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def run(line: str) -> dict:
    from django.db import connection

    from portal.db_scope import system_scope

    request = json.loads(line)
    try:
        with system_scope():
            result = COMMANDS[request["command"]](**request.get("args", {}))
        return {"result": result}
    except Exception:  # noqa: BLE001 - every failure goes back to the test, which fails with it
        return {"error": traceback.format_exc()}
    finally:
        connection.close()


def main() -> None:
    django.setup()
    print("@@ " + json.dumps({"result": "ready"}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print("@@ " + json.dumps(run(line), default=str), flush=True)


if __name__ == "__main__":
    main()
