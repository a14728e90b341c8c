"""Device-token authentication for the agent API, served from Redis on the hot path."""

from __future__ import annotations

from devices import agent_cache
from devices.agent_api.errors import AgentError
from devices.agent_cache import AgentDevice
from devices.models.enrollment import DEVICE_TOKEN_PREFIX
from portal.db_scope import system_scope
from tenants.models.tokens import hash_token

__all__ = ["authenticate_device", "token_digest"]


def token_digest(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not token.startswith(DEVICE_TOKEN_PREFIX):
        raise AgentError(401, "A device token is required: Authorization: Bearer pdt_…")
    return hash_token(token.strip())


def authenticate_device(request) -> AgentDevice:
    digest = token_digest(request)
    cached = agent_cache.load(digest)
    if cached is not None:
        return cached
    return device_from_database(digest)


def device_from_database(digest: str) -> AgentDevice:
    """The slow path on a cache miss: read the device and its tenant, then cache the entry."""
    from devices.models import Device

    with system_scope():
        device = (
            Device.objects.select_related("tenant")
            .filter(token_hash=digest, retired_at__isnull=True)
            .only(
                "id",
                "uid",
                "tenant_id",
                "checkin_interval",
                "inventory_hash",
                "updates_hash",
                "tenant__is_active",
                "tenant__archived_at",
            )
            .first()
        )
    if device is None:
        raise AgentError(401, "Unknown or revoked device token; enroll the device again.")
    if not device.tenant.is_active or device.tenant.archived_at is not None:
        raise AgentError(403, "This device's organisation is deactivated.")
    entry = AgentDevice.of(device)
    agent_cache.store(digest, entry)
    return entry
