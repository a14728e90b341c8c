"""The agent API's payload validation, fed mutated protocol examples (agent/PROTOCOL.md).

Whatever an agent sends, validation accepts it or answers a 400 whose errors name the field
(`packages[3].version`), as the protocol says; it never fails with another exception, and
what it accepts can be hashed. The same payloads go over HTTP in test_api_schema.py; here many
more of them are checked, without the request around them.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deployments.agent_api import serializers as jobs
from devices.agent_api import serializers as s
from devices.agent_api.errors import PayloadInvalid, validate, validate_items
from devices.inventory import inventory_hash
from devices.offered import updates_hash
from tests.fuzz.mutations import BOUNDED, json_documents

DEBIAN_OS = {
    "family": "linux",
    "id": "debian",
    "id_like": "",
    "name": "Debian GNU/Linux",
    "version_id": "12",
    "version": "12 (bookworm)",
    "codename": "bookworm",
    "pretty_name": "Debian GNU/Linux 12 (bookworm)",
    "kernel": "6.1.0-18-amd64",
    "pro": False,
    "build": None,
}
PACKAGES = {
    "dpkg": {"name": "libssl3", "version": "3.0.15-1~deb12u1", "arch": "amd64", "source": "openssl"},
    "rpm": {"name": "openssl-libs", "version": "1:3.0.7-27.el9", "arch": "x86_64", "source_rpm": "openssl.src.rpm"},
    "apk": {"name": "musl", "version": "1.2.4-r2", "arch": "x86_64", "origin": "musl"},
    "windows": {"name": "Mozilla Firefox", "version": "122.0.1", "publisher": "Mozilla"},
}
UPDATES = [
    {
        "kind": "apt",
        "name": "libssl3",
        "arch": "amd64",
        "current_version": "3.0.14-1~deb12u2",
        "available_version": "3.0.15-1~deb12u1",
        "origin": "Debian-Security:12/stable-security",
        "security": True,
    },
    {
        "kind": "windows",
        "update_id": "0d4b6a2e-6c1f-4c55-9d0e-2b8f0c1a7e11",
        "revision": 1,
        "kb": "KB5034441",
        "title": "2024-01 Security Update for Windows 10 (KB5034441)",
        "classification": "Security Updates",
        "severity": "Important",
        "reboot": "required",
        "supersedes": ["a5f6e3f0-0000-4000-8000-000000000001"],
        "size": 262144000,
        "installed": False,
        "released": "2024-01-09",
    },
    {
        "kind": "winget",
        "id": "Mozilla.Firefox",
        "name": "Mozilla Firefox",
        "current_version": "121.0",
        "available_version": "122.0.1",
        "source": "winget",
    },
]
HASH = "9f2c" * 16


def _inventory(body: dict) -> None:
    """What POST inventory checks before it stores anything."""
    data = validate(s.InventorySerializer, body)
    packages = data.get("packages")
    if packages is not None:
        validate_items(s.PACKAGE_SERIALIZERS, packages, "format", "packages", fixed_key=data["format"])
        inventory_hash(data["format"], packages)


def _updates(body: dict) -> None:
    data = validate(s.UpdatesSerializer, body)
    if data.get("updates") is not None:
        validate_items(s.UPDATE_SERIALIZERS, data["updates"], "kind", "updates")
        updates_hash(data["updates"])


def _plain(serializer_class):
    return lambda body: validate(serializer_class, body)


PAYLOADS = {
    "enroll": (
        _plain(s.EnrollSerializer),
        s.EnrollSerializer,
        [{"token": "pet_x", "hostname": "web-01", "machine_id": "4c4c", "arch": "amd64", "os": DEBIAN_OS}],
    ),
    "checkin": (
        _plain(s.CheckInSerializer),
        s.CheckInSerializer,
        [{"agent_version": "1.0.0", "hostname": "web-01", "inventory_hash": HASH, "updates_hash": None}],
    ),
    "inventory": (
        _inventory,
        s.InventorySerializer,
        [{"format": fmt, "hash": HASH, "packages": [package, dict(package)]} for fmt, package in PACKAGES.items()],
    ),
    "updates": (_updates, s.UpdatesSerializer, [{"hash": HASH, "updates": UPDATES}]),
    "claim": (_plain(jobs.ClaimSerializer), jobs.ClaimSerializer, [{"limit": 5}]),
    "progress": (
        _plain(jobs.ProgressSerializer),
        jobs.ProgressSerializer,
        [{"lease_id": "6f1c2b1e-3a7d-4c55-9d0e-2b8f0c1a7e11", "state": "running", "message": "apt-get started"}],
    ),
    "result": (
        _plain(jobs.ResultSerializer),
        jobs.ResultSerializer,
        [
            {
                "lease_id": "6f1c2b1e-3a7d-4c55-9d0e-2b8f0c1a7e11",
                "result_key": "0c6f1d6a9b7e4f55a2e0d3c1b4a59687",
                "outcome": "succeeded",
                "exit_code": 0,
                "output": "done",
                "reboot_required": False,
            }
        ],
    ),
    "health": (
        _plain(jobs.HealthSerializer),
        jobs.HealthSerializer,
        [{"job": 812, "checks": [{"name": "agent", "ok": True, "detail": "up"}, {"name": "svc", "ok": False}]}],
    ),
}


@pytest.mark.parametrize("endpoint", PAYLOADS)
def test_the_protocol_examples_are_valid(endpoint):
    check, _, examples = PAYLOADS[endpoint]
    for example in examples:
        check(example)


@pytest.mark.parametrize("endpoint", PAYLOADS)
@settings(BOUNDED, max_examples=120)
@given(data=st.data())
def test_a_payload_is_valid_or_a_400_naming_its_fields(endpoint, data):
    check, serializer_class, examples = PAYLOADS[endpoint]
    body = data.draw(json_documents(examples), label="body")
    assume(isinstance(body, dict))  # anything else is refused before validation ("body")
    try:
        check(body)
    except PayloadInvalid as exc:
        assert exc.errors and isinstance(exc.errors, dict)
        fields = set(serializer_class().fields)
        for path, messages in exc.errors.items():
            assert re.split(r"[.\[]", path, maxsplit=1)[0] in fields, f"{path!r} names no field of {endpoint}"
            assert messages and all(isinstance(m, str) and m for m in messages), exc.errors
