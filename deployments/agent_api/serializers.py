"""Payloads of the agent's job and health endpoints (agent/PROTOCOL.md, "Jobs" and "Health")."""

from __future__ import annotations

from rest_framework import serializers

from devices.agent_api.serializers import StrictCharField

MAX_OUTPUT_CHARS = 1024 * 1024  # accepted; the job keeps the last 64 KiB (deployments.jobs.OUTPUT_LIMIT)
RESULT_KEY = r"^[A-Za-z0-9_-]{8,64}$"


class ClaimSerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=5, min_value=1, max_value=20)


class ScriptEnvelopeSerializer(serializers.Serializer):
    payload = serializers.DictField(help_text="kind, name, version, interpreter, sha256, body, job, issued_at.")
    kid = serializers.CharField()
    signature = serializers.CharField()


class JobPackageSerializer(serializers.Serializer):
    manager = serializers.ChoiceField(choices=["apt", "dnf"])
    name = serializers.CharField()
    version = serializers.CharField(
        help_text="Install: the version to upgrade to; rollback: the version to go back to."
    )
    arch = serializers.CharField(required=False)


class JobWindowsUpdateSerializer(serializers.Serializer):
    kb = serializers.CharField(required=False, help_text="KB5034441")
    update_id = serializers.CharField(required=False, help_text="Windows Update id (GUID); needed to install.")
    title = serializers.CharField(required=False)


class JobWingetSerializer(serializers.Serializer):
    id = serializers.CharField()
    version = serializers.CharField(required=False)


class JobWorkSerializer(serializers.Serializer):
    packages = JobPackageSerializer(many=True, required=False)
    windows_updates = JobWindowsUpdateSerializer(many=True, required=False)
    winget = JobWingetSerializer(many=True, required=False)
    reboot = serializers.CharField(help_text="never, if_required or always (the policy's reboot rule).")
    health_services = serializers.ListField(child=serializers.CharField(), required=False)


class JobScriptsSerializer(serializers.Serializer):
    pre = ScriptEnvelopeSerializer(allow_null=True, help_text="Runs first; a failure fails the job.")
    post = ScriptEnvelopeSerializer(allow_null=True, help_text="Runs after the packages.")
    health = ScriptEnvelopeSerializer(allow_null=True, help_text="A health check: exit code 0 is healthy.")


class ClaimedJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["install", "reboot", "rollback"])
    lease_id = serializers.UUIDField()
    lease_expires_at = serializers.DateTimeField()
    lease_seconds = serializers.IntegerField()
    attempt = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    dry_run = serializers.BooleanField(help_text="Report what would be done; change nothing.")
    not_after = serializers.DateTimeField(allow_null=True, help_text="The end of the maintenance window.")
    payload = JobWorkSerializer()
    scripts = JobScriptsSerializer()


class ClaimResponseSerializer(serializers.Serializer):
    jobs = ClaimedJobSerializer(many=True)
    server_time = serializers.DateTimeField()


class ProgressSerializer(serializers.Serializer):
    lease_id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=["running", "reboot_pending"])
    message = StrictCharField(max_length=10_000, required=False, allow_blank=True, default="")


class ResultSerializer(serializers.Serializer):
    lease_id = serializers.UUIDField()
    result_key = serializers.RegexField(RESULT_KEY, help_text="Chosen by the agent, the same on every retry.")
    outcome = serializers.ChoiceField(choices=["succeeded", "failed"])
    exit_code = serializers.IntegerField(required=False, allow_null=True, default=None)
    output = StrictCharField(max_length=MAX_OUTPUT_CHARS, required=False, allow_blank=True, default="")
    reboot_required = serializers.BooleanField(required=False, default=False)


class JobStateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    attempt = serializers.IntegerField()
    not_before = serializers.DateTimeField(allow_null=True)
    lease_expires_at = serializers.DateTimeField(allow_null=True)


class HealthCheckSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100, required=True)
    ok = serializers.BooleanField()
    detail = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class HealthSerializer(serializers.Serializer):
    job = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="The job checked after.")
    checks = HealthCheckSerializer(many=True, allow_empty=False, max_length=100)


class HealthResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    healthy = serializers.BooleanField()
