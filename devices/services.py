"""Device operations shared by the agent API, the UI, the REST API and commands."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from devices import agent_cache
from devices.agent_api.errors import AgentError
from devices.ecosystem import ecosystem_key
from devices.models import Device, DeviceGroupMember, EnrollmentToken
from devices.models.enrollment import DEVICE_TOKEN_PREFIX, new_secret
from portal.db_scope import system_scope
from tenants.models.tokens import hash_token

__all__ = ["enroll_device", "retire_device", "rotate_device_token"]


def _os_fields(data: dict) -> dict:
    os_info = data["os"]
    return {
        "hostname": data["hostname"],
        "fqdn": data.get("fqdn") or "",
        "arch": data.get("arch") or "",
        "agent_version": data.get("agent_version") or "",
        "os_family": os_info["family"],
        "os_id": (os_info.get("id") or "").lower(),
        "os_name": os_info.get("name") or os_info.get("pretty_name") or "",
        "os_version": os_info.get("version_id") or "",
        "os_codename": os_info.get("codename") or "",
        "os_build": os_info.get("build") or "",
        "kernel": os_info.get("kernel") or "",
        "ubuntu_pro": bool(os_info.get("pro")),
        "ecosystem": ecosystem_key(
            os_info["family"],
            os_info.get("id") or "",
            os_info.get("version_id") or "",
            os_info.get("id_like") or "",
            os_info.get("build") or "",
        ),
    }


@transaction.atomic
def enroll_device(data: dict, ip: str | None = None, now=None) -> tuple[Device, str]:
    """Enroll a machine with an enrollment token; a known machine id gets a fresh token instead."""
    now = now or timezone.now()
    # The token decides the tenant, so its lookup runs in the system scope (trusted code).
    with system_scope():
        token = EnrollmentToken.objects.select_related("tenant").filter(token_hash=hash_token(data["token"])).first()
        if token is None:
            raise AgentError(401, "Unknown enrollment token.")
        reason = token.unusable_reason(now)
        if reason:
            raise AgentError(401, f"This enrollment token is {reason}.")
        if not token.tenant.is_active or token.tenant.archived_at is not None:
            raise AgentError(403, "This organisation is deactivated.")

        raw, digest = new_secret(DEVICE_TOKEN_PREFIX)
        fields = _os_fields(data)
        machine_id = data.get("machine_id") or ""
        device = None
        if machine_id:
            device = Device.objects.filter(tenant=token.tenant, machine_id=machine_id, retired_at__isnull=True).first()
        if device is not None:
            agent_cache.forget(device.token_hash)
            for name, value in fields.items():
                setattr(device, name, value)
            device.token_hash, device.token_created_at, device.last_ip = digest, now, ip
            device.save()
        else:
            device = Device.objects.create(
                tenant=token.tenant,
                site=token.site,
                machine_id=machine_id,
                tags=list(token.tags),
                token_hash=digest,
                token_created_at=now,
                enrolled_at=now,
                last_ip=ip,
                **fields,
            )
            DeviceGroupMember.objects.bulk_create(
                [
                    DeviceGroupMember(tenant=token.tenant, group=g, device=device)
                    for g in token.groups.filter(kind="explicit")
                ],
                ignore_conflicts=True,
            )
        # Counting the use last keeps the token's row lock short: many machines enroll with one
        # token at once. The condition makes the limit exact under concurrency; a lost race
        # rolls the whole enrollment back.
        counted = (
            EnrollmentToken.objects.filter(pk=token.pk)
            .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
            .update(uses=F("uses") + 1)
        )
        if not counted:
            raise AgentError(401, "This enrollment token is used up.")
    return device, raw


def rotate_device_token(device: Device, now=None) -> str:
    raw, digest = new_secret(DEVICE_TOKEN_PREFIX)
    old = device.token_hash
    device.token_hash, device.token_created_at = digest, now or timezone.now()
    device.save(update_fields=["token_hash", "token_created_at"])
    transaction.on_commit(lambda: agent_cache.forget(old))
    agent_cache.forget(old)
    return raw


def retire_device(device: Device, now=None) -> None:
    """Decommission: the agent is refused from now on; history and reports keep the device."""
    device.retired_at = now or timezone.now()
    device.save(update_fields=["retired_at"])
    agent_cache.forget(device.token_hash)


def forget_tenant_devices(tenant_id: int) -> None:
    """Drop cached agent credentials of a tenant, so a deactivation takes effect at once."""
    with system_scope():
        hashes = list(Device.objects.filter(tenant_id=tenant_id).values_list("token_hash", flat=True))
    agent_cache.forget_many(hashes)
