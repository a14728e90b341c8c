"""Payloads of the agent API (agent/PROTOCOL.md). They validate requests and document the schema."""

from __future__ import annotations

from rest_framework import serializers

from devices.inventory import FORMAT_FIELDS

HEX64 = r"^[0-9a-f]{64}$"
MAX_PACKAGES = 50_000
MAX_UPDATES = 10_000


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers and booleans instead of converting them.

    The inventory hash is computed over exactly what the agent sent, so a value must
    already be a string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def text(max_length=255, required=False):
    return StrictCharField(
        max_length=max_length,
        required=required,
        allow_blank=not required,
        allow_null=not required,
        trim_whitespace=False,
    )


class OsSerializer(serializers.Serializer):
    family = serializers.ChoiceField(choices=["linux", "windows", "macos"])
    id = text(40)
    id_like = text(120)
    name = text(120)
    version_id = text(60)
    version = text(120)
    codename = text(60)
    pretty_name = text(200)
    kernel = text(120)
    pro = serializers.BooleanField(required=False, default=False)
    build = text(60)


class EnrollSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)
    hostname = serializers.CharField(max_length=255)
    fqdn = text()
    machine_id = text(128)
    arch = text(20)
    agent_version = text(40)
    os = OsSerializer()


class PublicJwkSerializer(serializers.Serializer):
    kty = serializers.ChoiceField(choices=["RSA"])
    n = serializers.CharField(help_text="Modulus, base64url without padding.")
    e = serializers.CharField(help_text="Public exponent, base64url without padding.")
    kid = serializers.CharField(help_text="RFC 7638 SHA-256 thumbprint of the key, base64url.")


class EnrollResponseSerializer(serializers.Serializer):
    device_id = serializers.UUIDField()
    device_token = serializers.CharField()
    checkin_interval = serializers.IntegerField()
    server_time = serializers.DateTimeField()
    script_signing_key = PublicJwkSerializer(help_text="The key that signs scripts; the agent pins it.")


class CheckInSerializer(serializers.Serializer):
    agent_version = text(40)
    hostname = text()
    inventory_hash = serializers.RegexField(HEX64, required=False, allow_null=True)
    updates_hash = serializers.RegexField(HEX64, required=False, allow_null=True)
    reboot_required = serializers.BooleanField(required=False, allow_null=True, default=None)
    uptime_seconds = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class CheckInResponseSerializer(serializers.Serializer):
    checkin_interval = serializers.IntegerField()
    send_inventory = serializers.BooleanField()
    send_updates = serializers.BooleanField()
    jobs = serializers.ListField(child=serializers.DictField())
    server_time = serializers.DateTimeField()


def _package_serializer(fmt: str) -> type[serializers.Serializer]:
    fields = {}
    for name in FORMAT_FIELDS[fmt]:
        required = name in ("name", "version")
        fields[name] = text(20 if name == "arch" else 255, required=required)
    return type(f"{fmt.capitalize()}PackageSerializer", (serializers.Serializer,), fields)


PACKAGE_SERIALIZERS = {fmt: _package_serializer(fmt) for fmt in FORMAT_FIELDS}


class InventorySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=list(FORMAT_FIELDS))
    hash = serializers.RegexField(HEX64)
    # Entries are checked against the format's own fields (see PACKAGE_SERIALIZERS) once the
    # format is known; omit the list to ask whether the server already has this hash.
    packages = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Package objects whose fields depend on `format`."
    )


class StatusResponseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["unchanged", "send_full", "applied"])
    total = serializers.IntegerField(required=False)
    added = serializers.IntegerField(required=False)
    removed = serializers.IntegerField(required=False)
    changed = serializers.IntegerField(required=False)


class AptUpdateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["apt", "dnf"])
    name = text(required=True)
    arch = text(20)
    current_version = text()
    available_version = text(required=True)
    origin = text()
    repo = text()
    security = serializers.BooleanField(required=False, default=False)


class WindowsUpdateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["windows"])
    update_id = serializers.RegexField(r"^[0-9A-Fa-f-]{32,36}$")
    revision = serializers.IntegerField(required=False, min_value=0, default=0)
    kb = serializers.RegexField(r"^(KB)?[0-9]{4,10}$", required=False, allow_blank=True, allow_null=True)
    title = text(500)
    classification = text(100)
    severity = serializers.ChoiceField(
        choices=["Critical", "Important", "Moderate", "Low", ""], required=False, allow_null=True, allow_blank=True
    )
    reboot = serializers.ChoiceField(choices=["never", "required", "may"], required=False, allow_null=True)
    supersedes = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=5000)
    size = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    installed = serializers.BooleanField(required=False, default=False)
    released = serializers.DateField(required=False, allow_null=True)


class WingetUpdateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["winget"])
    id = text(required=True)
    name = text()
    current_version = text()
    available_version = text(required=True)
    source = text(60)


UPDATE_SERIALIZERS = {
    "apt": AptUpdateSerializer,
    "dnf": AptUpdateSerializer,
    "windows": WindowsUpdateSerializer,
    "winget": WingetUpdateSerializer,
}


class UpdatesSerializer(serializers.Serializer):
    hash = serializers.RegexField(HEX64)
    updates = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Update objects whose fields depend on `kind`."
    )


class RotateResponseSerializer(serializers.Serializer):
    device_token = serializers.CharField()
