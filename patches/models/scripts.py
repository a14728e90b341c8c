"""Pre- and post-install scripts: stored here, versioned, edited only by MSP admins."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.models.audit import AuditedModel

__all__ = ["Script", "ScriptVersion"]


class Script(AuditedModel):
    """A named script; its body lives in immutable versions, the newest is the one used."""

    class Interpreter(models.TextChoices):
        SH = "sh", "sh"
        BASH = "bash", "bash"
        POWERSHELL = "powershell", "PowerShell"
        PYTHON3 = "python3", "Python 3"

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    interpreter = models.CharField(max_length=12, choices=Interpreter.choices, default=Interpreter.SH)
    current_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def current(self) -> ScriptVersion | None:
        return self.versions.filter(number=self.current_version).first()


class ScriptVersion(AuditedModel):
    """One body of a script, never changed once written (a new edit is a new version)."""

    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    body = models.TextField()
    sha256 = models.CharField(max_length=64)
    note = models.CharField(max_length=300, blank=True, help_text="What changed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    # The body is kept here in full; the audit log records its hash.
    audit_exclude = ("body",)

    class Meta:
        ordering = ["script_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["script", "number"], name="script_version_unique")]

    def __str__(self) -> str:
        return f"{self.script} v{self.number}"

    @staticmethod
    def digest(body: str) -> str:
        return hashlib.sha256(body.encode("utf-8")).hexdigest()
