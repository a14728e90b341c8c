"""The agent API: enrollment, check-in, inventory and offered updates, over the test client."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from devices import presence
from devices.models import Device, DeviceSoftware, DeviceUpdate, EnrollmentToken, SoftwarePackage
from tenants.services import set_tenant_state
from tests.devices.agent_helpers import DEBIAN_OS, enroll, pkg, post, upload, upload_updates

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_redis():
    from portal.redis import client

    client().flushdb()
    yield
    client().flushdb()


def test_enrollment_creates_a_device_and_stores_only_token_hashes(client, world):
    body = enroll(client, world.tenant_a, site=world.site_a, tags=["server"])
    device = Device.objects.get(uid=body["device_id"])
    assert body["device_token"].startswith("pdt_")
    assert device.tenant == world.tenant_a and device.site == world.site_a and device.tags == ["server"]
    assert device.ecosystem == "Debian:12" and device.os_family == "linux"
    assert body["device_token"] not in json.dumps(list(Device.objects.values().filter(pk=device.pk)), default=str)
    token = EnrollmentToken.objects.get()
    assert token.uses == 1


def test_re_enrolling_the_same_machine_replaces_its_token(client, world):
    first = enroll(client, world.tenant_a, machine_id="same")
    second = enroll(client, world.tenant_a, machine_id="same")
    assert first["device_id"] == second["device_id"]
    assert Device.objects.count() == 1
    assert post(client, "checkin", {}, first["device_token"]).status_code == 401
    assert post(client, "checkin", {}, second["device_token"]).status_code == 200


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"revoked_at": timezone.now()}, "revoked"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expired"),
        ({"max_uses": 1, "uses": 1}, "used up"),
    ],
)
def test_unusable_enrollment_tokens_are_refused(client, world, fields, message):
    _, raw = EnrollmentToken.issue(world.tenant_a, "t", **fields)
    response = post(client, "enroll", {"token": raw, "hostname": "h", "os": DEBIAN_OS})
    assert response.status_code == 401 and message in response.json()["detail"]
    assert not Device.objects.exists()


def test_unknown_enrollment_token_is_refused(client, world):
    response = post(client, "enroll", {"token": "pet_nope", "hostname": "h", "os": DEBIAN_OS})
    assert response.status_code == 401


def test_a_deactivated_tenant_cannot_enroll_and_its_devices_are_refused(client, world):
    body = enroll(client, world.tenant_a)
    assert post(client, "checkin", {}, body["device_token"]).status_code == 200  # now cached in Redis
    set_tenant_state(world.tenant_a, "deactivate")
    from devices.services import forget_tenant_devices

    forget_tenant_devices(world.tenant_a.pk)  # what the on_commit hook does after the state change commits
    assert post(client, "checkin", {}, body["device_token"]).status_code == 403
    _, raw = EnrollmentToken.issue(world.tenant_a, "t")
    assert post(client, "enroll", {"token": raw, "hostname": "h", "os": DEBIAN_OS}).status_code == 403


def test_checkin_records_presence_in_redis_and_the_flush_writes_it(client, world):
    body = enroll(client, world.tenant_a)
    response = post(
        client,
        "checkin",
        {"agent_version": "1.2.3", "reboot_required": True, "uptime_seconds": 99},
        body["device_token"],
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["jobs"] == [] and answer["checkin_interval"] == 300
    assert answer["send_inventory"] is True  # nothing uploaded yet
    device = Device.objects.get(uid=body["device_id"])
    assert device.last_seen_at is None  # buffered, not written per check-in
    assert presence.flush() == 1
    device.refresh_from_db()
    assert device.last_seen_at is not None and device.agent_version == "1.2.3"
    assert device.reboot_required is True and device.uptime_seconds == 99 and device.last_ip == "10.1.2.3"
    (bucket,) = device.checkins.all()
    assert bucket.count == 1
    assert presence.flush() == 0


def test_inventory_upload_applies_exactly_the_diff(client, world):
    token = enroll(client, world.tenant_a)["device_token"]
    first = [
        pkg("openssl", "3.0.14-1~deb12u1", source="openssl"),
        pkg("libssl3", "3.0.14-1~deb12u1", "openssl"),
        pkg("bash", "5.2.15-2+b2", "bash", "5.2.15-2"),
        pkg("zlib1g", "1:1.2.13.dfsg-1", "zlib"),
    ]
    response = upload(client, token, first)
    assert response.json() == {"status": "applied", "total": 4, "added": 4, "removed": 0, "changed": 0}
    device = Device.objects.get()
    assert device.package_count == 4

    bash = SoftwarePackage.objects.get(name="bash")
    assert (bash.source_name, bash.source_version) == ("bash", "5.2.15-2")  # binNMU: source version kept

    second = [
        pkg("openssl", "3.0.15-1~deb12u1"),
        pkg("libssl3", "3.0.15-1~deb12u1", "openssl"),
        pkg("bash", "5.2.15-2+b2", "bash", "5.2.15-2"),
        pkg("curl", "7.88.1-10+deb12u8"),
    ]
    response = upload(client, token, second)
    assert response.json() == {"status": "applied", "total": 4, "added": 1, "removed": 1, "changed": 2}
    names = set(DeviceSoftware.objects.filter(device=device).values_list("package__name", "package__version"))
    assert names == {
        ("openssl", "3.0.15-1~deb12u1"),
        ("libssl3", "3.0.15-1~deb12u1"),
        ("bash", "5.2.15-2+b2"),
        ("curl", "7.88.1-10+deb12u8"),
    }
    # Old versions stay in the shared catalogue for other devices and history.
    assert SoftwarePackage.objects.filter(name="openssl").count() == 2


def test_an_unchanged_upload_changes_nothing(client, world, django_assert_num_queries):
    token = enroll(client, world.tenant_a)["device_token"]
    packages = [pkg("openssl", "3.0.15-1~deb12u1")]
    upload(client, token, packages)
    device = Device.objects.get()
    stamp = device.inventory_updated_at
    with django_assert_num_queries(0):  # the hash is compared in Redis; no SQL at all
        response = upload(client, token, packages)
    assert response.json() == {"status": "unchanged"}
    device.refresh_from_db()
    assert device.inventory_updated_at == stamp


def test_hash_first_then_full(client, world):
    token = enroll(client, world.tenant_a)["device_token"]
    packages = [pkg("openssl", "3.0.15-1~deb12u1")]
    from devices.inventory import inventory_hash

    digest = inventory_hash("dpkg", packages)
    assert post(client, "inventory", {"format": "dpkg", "hash": digest}, token).json() == {"status": "send_full"}
    upload(client, token, packages)
    assert post(client, "inventory", {"format": "dpkg", "hash": digest}, token).json() == {"status": "unchanged"}
    checkin = post(client, "checkin", {"inventory_hash": digest}, token).json()
    assert checkin["send_inventory"] is False


def test_multiarch_packages_count_once_per_architecture(client, world):
    token = enroll(client, world.tenant_a)["device_token"]
    packages = [
        pkg("libc6", "2.36-9+deb12u9", "glibc", arch="amd64"),
        pkg("libc6", "2.36-9+deb12u9", "glibc", arch="i386"),
    ]
    assert upload(client, token, packages).json()["total"] == 2
    assert SoftwarePackage.objects.filter(name="libc6").count() == 1


def test_rpm_inventory_keeps_the_source_rpm(client, world):
    rhel = {"family": "linux", "id": "rhel", "version_id": "9.3", "name": "Red Hat Enterprise Linux"}
    token = enroll(client, world.tenant_a, os_info=rhel)["device_token"]
    packages = [
        {
            "name": "openssl-libs",
            "version": "1:3.0.7-24.el9",
            "arch": "x86_64",
            "source_rpm": "openssl-3.0.7-24.el9.src.rpm",
        }
    ]
    assert upload(client, token, packages, fmt="rpm").status_code == 200
    package = SoftwarePackage.objects.get(name="openssl-libs")
    assert package.ecosystem == "Red Hat:9"
    assert (package.source_name, package.source_version) == ("openssl", "openssl-3.0.7-24.el9.src.rpm")


def test_offered_updates_are_stored_once_and_diffed(client, world):
    token = enroll(client, world.tenant_a)["device_token"]
    other = enroll(client, world.tenant_a, hostname="web-02", machine_id="m-2")["device_token"]
    apt = {
        "kind": "apt",
        "name": "libssl3",
        "arch": "amd64",
        "current_version": "3.0.14-1~deb12u2",
        "available_version": "3.0.15-1~deb12u1",
        "origin": "Debian-Security:12/stable-security",
        "security": True,
    }
    win = {
        "kind": "windows",
        "update_id": "0d4b3a9e-1111-2222-3333-444455556666",
        "revision": 1,
        "kb": "KB5034441",
        "title": "2024-01 Security Update",
        "classification": "Security Updates",
        "severity": "Important",
        "reboot": "required",
        "supersedes": [],
        "size": 1000,
        "installed": False,
        "released": "2024-01-09",
    }
    assert upload_updates(client, token, [apt, win]).json()["added"] == 2
    assert upload_updates(client, other, [apt]).json()["added"] == 1
    from devices.models import Update

    assert Update.objects.count() == 2  # the apt update is stored once for both devices
    response = upload_updates(client, token, [{**win, "installed": True}])
    assert response.json() == {"status": "applied", "total": 1, "added": 0, "removed": 1, "changed": 1}
    row = DeviceUpdate.objects.get(device__hostname="web-01")
    assert row.installed is True and row.update.kb == "KB5034441" and row.update.reboot == "required"


# ---- Bad input: 400 naming the field, 413, 401; nothing half-applied -----------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "dpkg", "hash": "x" * 64, "packages": []}, "hash"),
        ({"format": "msi", "hash": "0" * 64}, "format"),
        ({"hash": "0" * 64}, "format"),
        (
            {"format": "dpkg", "hash": "0" * 64, "packages": [{"name": "a", "version": "1"}, {"name": "b"}]},
            "packages[1].version",
        ),
        ({"format": "dpkg", "hash": "0" * 64, "packages": [{"name": "a", "version": 1}]}, "packages[0].version"),
        ({"format": "dpkg", "hash": "0" * 64, "packages": ["openssl"]}, "packages[0]"),
        (
            {"format": "dpkg", "hash": "0" * 64, "packages": [{"name": "a", "version": "1", "arch": "x" * 21}]},
            "packages[0].arch",
        ),
    ],
)
def test_bad_inventory_gets_400_naming_the_field(client, world, body, field):
    token = enroll(client, world.tenant_a)["device_token"]
    response = post(client, "inventory", body, token)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_a_hash_that_does_not_match_the_packages_is_refused_and_nothing_changes(client, world):
    token = enroll(client, world.tenant_a)["device_token"]
    body = {"format": "dpkg", "hash": "0" * 64, "packages": [pkg("openssl", "3.0.15-1~deb12u1")]}
    response = post(client, "inventory", body, token)
    assert response.status_code == 400 and "hash" in response.json()["errors"]
    assert not DeviceSoftware.objects.exists() and not SoftwarePackage.objects.exists()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("enroll", {"hostname": "h", "os": DEBIAN_OS}, "token"),
        ("enroll", {"token": "pet_x", "hostname": "h", "os": {"family": "beos"}}, "os.family"),
        ("enroll", {"token": "pet_x", "os": DEBIAN_OS}, "hostname"),
        ("checkin", {"uptime_seconds": -5}, "uptime_seconds"),
        ("checkin", {"inventory_hash": "not-hex"}, "inventory_hash"),
        ("updates", {"hash": "0" * 64, "updates": [{"kind": "apt", "name": "x"}]}, "updates[0].available_version"),
        ("updates", {"hash": "0" * 64, "updates": [{"kind": "chocolatey", "id": "x"}]}, "updates[0].kind"),
        ("updates", {"hash": "0" * 64, "updates": [{"kind": "windows", "update_id": "zz"}]}, "updates[0].update_id"),
        ("checkin", ["not", "an", "object"], "body"),
    ],
)
def test_bad_payloads_get_400_naming_the_field(client, world, path, body, field):
    token = enroll(client, world.tenant_a)["device_token"]
    response = post(client, path, body, token)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_malformed_json_gets_400(client, world):
    token = enroll(client, world.tenant_a)["device_token"]
    response = client.post(
        "/api/agent/v1/checkin", "{not json", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 400 and "body" in response.json()["errors"]


def test_oversize_body_gets_413_before_it_is_read(client, world, settings):
    token = enroll(client, world.tenant_a)["device_token"]
    settings.AGENT_MAX_BODY_BYTES = 1000
    packages = [pkg(f"pkg{i}", "1.0") for i in range(100)]
    response = upload(client, token, packages)
    assert response.status_code == 413
    assert not DeviceSoftware.objects.exists()


def test_too_many_entries_get_413(client, world, monkeypatch):
    from devices.agent_api import serializers

    monkeypatch.setattr(serializers, "MAX_PACKAGES", 3)
    token = enroll(client, world.tenant_a)["device_token"]
    assert upload(client, token, [pkg(f"p{i}", "1") for i in range(4)]).status_code == 413


@pytest.mark.parametrize("header", ["", "Bearer pdt_unknown", "Bearer ppt_personal-token", "Basic abc"])
def test_unknown_or_malformed_device_tokens_get_401(client, world, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    for path in ("checkin", "inventory", "updates", "token/rotate"):
        response = client.post(f"/api/agent/v1/{path}", "{}", content_type="application/json", **extra)
        assert response.status_code == 401, path


def test_a_retired_device_is_refused(client, world):
    from devices.services import retire_device

    body = enroll(client, world.tenant_a)
    assert post(client, "checkin", {}, body["device_token"]).status_code == 200
    retire_device(Device.objects.get(uid=body["device_id"]))
    assert post(client, "checkin", {}, body["device_token"]).status_code == 401


def test_rotating_the_device_token_retires_the_old_one(client, world):
    old = enroll(client, world.tenant_a)["device_token"]
    assert post(client, "checkin", {}, old).status_code == 200
    new = post(client, "token/rotate", {}, old).json()["device_token"]
    assert post(client, "checkin", {}, old).status_code == 401
    assert post(client, "checkin", {}, new).status_code == 200


# ---- Isolation ----------------------------------------------------------------------------------


def test_a_device_token_of_tenant_a_never_touches_tenant_b(client, world):
    a = enroll(client, world.tenant_a, hostname="a-host", machine_id="shared-id")
    b = enroll(client, world.tenant_b, hostname="b-host", machine_id="shared-id")
    assert a["device_id"] != b["device_id"]  # the same machine id in two tenants is two devices
    upload(client, a["device_token"], [pkg("openssl", "3.0.15-1~deb12u1")])
    upload(client, b["device_token"], [pkg("curl", "7.88.1-10+deb12u8")])
    device_a = Device.objects.get(uid=a["device_id"])
    device_b = Device.objects.get(uid=b["device_id"])
    assert set(device_a.software.values_list("package__name", flat=True)) == {"openssl"}
    assert set(device_b.software.values_list("package__name", flat=True)) == {"curl"}
    # Every installed-software row carries its device's tenant (RLS relies on it).
    assert set(DeviceSoftware.objects.filter(device=device_a).values_list("tenant_id", flat=True)) == {
        world.tenant_a.pk
    }


def test_enrollment_tokens_only_enroll_into_their_own_tenant(client, world):
    body = enroll(client, world.tenant_b)
    assert Device.objects.get(uid=body["device_id"]).tenant == world.tenant_b
