"""What the agent API needs per request, cached in Redis so a check-in costs no SQL.

The entry for a device token holds the device's id, tenant and check-in interval and the
hashes of what it last uploaded. It is dropped when the token is rotated or revoked, the
device retired, or the tenant deactivated, and expires on its own after a few minutes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from portal.redis import client

__all__ = ["AgentDevice", "forget", "forget_many", "load", "store"]

# Longer than any check-in interval: entries are dropped explicitly when they go stale
# (token rotated or revoked, device retired, tenant deactivated); the TTL is a safety net.
TTL_SECONDS = 3600
_PREFIX = "agent:dev:"


@dataclass
class AgentDevice:
    id: int
    uid: str
    tenant_id: int
    checkin_interval: int
    inventory_hash: str
    updates_hash: str

    @classmethod
    def of(cls, device) -> AgentDevice:
        return cls(
            device.pk,
            str(device.uid),
            device.tenant_id,
            device.checkin_interval,
            device.inventory_hash,
            device.updates_hash,
        )


def key(token_hash: str) -> str:
    return _PREFIX + token_hash


def decode(raw: bytes) -> AgentDevice:
    return AgentDevice(**json.loads(raw))


def load(token_hash: str) -> AgentDevice | None:
    raw = client().get(_PREFIX + token_hash)
    return decode(raw) if raw else None


def store(token_hash: str, device: AgentDevice) -> None:
    client().set(_PREFIX + token_hash, json.dumps(asdict(device)), ex=TTL_SECONDS)


def forget(token_hash: str) -> None:
    client().delete(_PREFIX + token_hash)


def forget_many(token_hashes) -> None:
    keys = [_PREFIX + h for h in token_hashes]
    for start in range(0, len(keys), 1000):
        client().delete(*keys[start : start + 1000])
