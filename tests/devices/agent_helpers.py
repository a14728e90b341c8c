"""Building agent API requests in tests (the protocol's own hash functions are reused)."""

from __future__ import annotations

import json

from devices.inventory import inventory_hash
from devices.models import EnrollmentToken
from devices.offered import updates_hash

DEBIAN_OS = {
    "family": "linux",
    "id": "debian",
    "name": "Debian GNU/Linux",
    "version_id": "12",
    "codename": "bookworm",
    "kernel": "6.1.0-18-amd64",
}


def post(client, path, body, token=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(f"/api/agent/v1/{path}", json.dumps(body), content_type="application/json", **headers, **extra)


def enroll(client, tenant, hostname="web-01", machine_id="m-1", os_info=None, **token_fields):
    _, raw = EnrollmentToken.issue(tenant, "test", **token_fields)
    response = post(
        client,
        "enroll",
        {
            "token": raw,
            "hostname": hostname,
            "machine_id": machine_id,
            "arch": "amd64",
            "agent_version": "1.0.0",
            "os": os_info or DEBIAN_OS,
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def pkg(name, version, source=None, source_version=None, arch="amd64"):
    return {
        "name": name,
        "version": version,
        "arch": arch,
        "source": source or name,
        "source_version": source_version or version,
    }


def upload(client, token, packages, fmt="dpkg"):
    body = {"format": fmt, "hash": inventory_hash(fmt, packages), "packages": packages}
    return post(client, "inventory", body, token)


def upload_updates(client, token, updates):
    return post(client, "updates", {"hash": updates_hash(updates), "updates": updates}, token)
