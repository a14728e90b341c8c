from __future__ import annotations

import secrets

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from tenants.models import TenantOwnedModel
from tenants.models.tokens import hash_token

__all__ = ["DEVICE_TOKEN_PREFIX", "ENROLLMENT_TOKEN_PREFIX", "EnrollmentToken", "new_secret"]

ENROLLMENT_TOKEN_PREFIX = "pet_"  # noqa: S105 - a visible prefix, not a secret
DEVICE_TOKEN_PREFIX = "pdt_"  # noqa: S105 - a visible prefix, not a secret


def new_secret(prefix: str) -> tuple[str, str]:
    """A fresh token and its hash; only the hash is ever stored."""
    raw = prefix + secrets.token_urlsafe(32)
    return raw, hash_token(raw)


class EnrollmentToken(TenantOwnedModel):
    """Lets new machines of one tenant enroll: expiring, limited in uses, revocable."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="enrollment_tokens")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    uses = models.PositiveIntegerField(default=0)
    site = models.ForeignKey("tenants.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    groups = models.ManyToManyField("devices.DeviceGroup", blank=True, related_name="+")
    tags = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    audit_exclude = ("token_hash", "uses")

    class Meta:
        ordering = ["tenant_id", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, tenant, name: str, **fields) -> tuple[EnrollmentToken, str]:
        raw, digest = new_secret(ENROLLMENT_TOKEN_PREFIX)
        token = cls.objects.create(tenant=tenant, name=name, prefix=raw[:10], token_hash=digest, **fields)
        return token, raw

    def rotate(self) -> str:
        """Replace the secret, keeping the settings; the old value stops working at once."""
        raw, digest = new_secret(ENROLLMENT_TOKEN_PREFIX)
        self.prefix, self.token_hash = raw[:10], digest
        self.save(update_fields=["prefix", "token_hash"])
        return raw

    def unusable_reason(self, now=None) -> str | None:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "used up"
        return None

    @property
    def status(self) -> str:
        return self.unusable_reason() or "active"
