"""The request bodies of PROTOCOL.md and its hash-first upload exchange.

Pure functions build the bodies, so tests (and the end-to-end test against a live portal)
can check exactly what goes on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from . import __version__
from .transport import PortalError


class Poster(Protocol):
    def post(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]: ...


def enroll_body(token: str, facts: Mapping[str, object], agent_version: str = __version__) -> dict[str, object]:
    return {
        "token": token,
        "hostname": facts["hostname"],
        "fqdn": facts["fqdn"],
        "machine_id": facts["machine_id"],
        "arch": facts["arch"],
        "agent_version": agent_version,
        "os": facts["os"],
    }


def checkin_body(
    hostname: str,
    inventory_hash: str,
    updates_hash: str | None,
    reboot_required: bool,
    uptime_seconds: int,
    agent_version: str = __version__,
) -> dict[str, object]:
    return {
        "agent_version": agent_version,
        "hostname": hostname,
        "inventory_hash": inventory_hash,
        "updates_hash": updates_hash,
        "reboot_required": reboot_required,
        "uptime_seconds": uptime_seconds,
    }


def inventory_probe_body(fmt: str, digest: str) -> dict[str, object]:
    return {"format": fmt, "hash": digest}


def inventory_full_body(fmt: str, digest: str, packages: Sequence[Mapping[str, object]]) -> dict[str, object]:
    return {"format": fmt, "hash": digest, "packages": list(packages)}


def updates_probe_body(digest: str) -> dict[str, object]:
    return {"hash": digest}


def updates_full_body(digest: str, updates: Sequence[Mapping[str, object]]) -> dict[str, object]:
    return {"hash": digest, "updates": list(updates)}


def _status(answer: Mapping[str, Any], endpoint: str, allowed: Sequence[str]) -> str:
    status = answer.get("status")
    if status not in allowed:
        raise PortalError(f"POST {endpoint}: unexpected status {status!r} (expected {' or '.join(allowed)})")
    return str(status)


def _hash_first(client: Poster, endpoint: str, probe: dict[str, object], full: dict[str, object]) -> dict[str, Any]:
    """Send the hash alone; send everything only if the server asks for it."""
    answer = client.post(endpoint, probe)
    if _status(answer, endpoint, ("unchanged", "send_full")) == "unchanged":
        return answer
    answer = client.post(endpoint, full)
    # "unchanged" here means another upload stored the same hash in the meantime.
    _status(answer, endpoint, ("applied", "unchanged"))
    return answer


def upload_inventory(client: Poster, fmt: str, digest: str, packages: Sequence[Mapping[str, object]]) -> dict[str, Any]:
    return _hash_first(
        client, "inventory", inventory_probe_body(fmt, digest), inventory_full_body(fmt, digest, packages)
    )


def upload_updates(client: Poster, digest: str, updates: Sequence[Mapping[str, object]]) -> dict[str, Any]:
    return _hash_first(client, "updates", updates_probe_body(digest), updates_full_body(digest, updates))


def checkin_interval(answer: Mapping[str, Any], fallback: int) -> int:
    """The server's interval if it is a sane positive number of seconds, else ``fallback``."""
    value = answer.get("checkin_interval")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return fallback


def due_jobs(answer: Mapping[str, Any]) -> list[Any]:
    jobs = answer.get("jobs")
    return list(jobs) if isinstance(jobs, list) else []


def enrollment_result(answer: Mapping[str, Any]) -> dict[str, object | None]:
    device_id, token = answer.get("device_id"), answer.get("device_token")
    if not isinstance(device_id, str) or not device_id or not isinstance(token, str) or not token:
        raise PortalError("POST enroll: the answer has no device_id and device_token")
    key = answer.get("script_signing_key")
    return {
        "device_id": device_id,
        "device_token": token,
        "checkin_interval": checkin_interval(answer, 0) or None,
        # Checked and pinned by State.pin_script_key; None from a portal that sends no key.
        "script_signing_key": key if isinstance(key, dict) else None,
    }
