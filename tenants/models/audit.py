from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

__all__ = ["AuditEntry", "AuditedModel"]


class AuditedModel(models.Model):
    """A model whose saves and deletes are written to the audit log with what changed.

    The values loaded from the database are remembered so that an update logs only the
    fields that really changed. Bulk `QuerySet.update()` bypasses this; services that use
    it record their own entry.
    """

    # Fields never copied into the audit log (secrets, hashes, large blobs).
    audit_exclude: tuple[str, ...] = ()
    # Bookkeeping rows (check-in history, caches) set this to False.
    audited = True

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._audit_loaded = dict(zip(field_names, values, strict=True))
        return instance

    def save(self, *args, **kwargs):
        from tenants import audit

        created = self._state.adding
        super().save(*args, **kwargs)
        if self.audited:
            audit.record_save(self, created)
            self._audit_loaded = audit.snapshot(self)

    def delete(self, *args, **kwargs):
        from tenants import audit

        if not self.audited:
            return super().delete(*args, **kwargs)
        entry = audit.pending_delete(self)
        result = super().delete(*args, **kwargs)
        audit.write(**entry)
        return result


class AuditEntryQuerySet(models.QuerySet):
    def visible_to(self, access, capability: str = "tenant.view"):
        """Entries of the tenants where `access` holds `capability`; MSP-wide ones for MSP admins."""
        if access.is_admin:
            return self
        if access.all_tenants:
            return self.filter(tenant__isnull=False) if access.can_anywhere(capability) else self.none()
        return self.filter(tenant_id__in=[t for t in access.tenant_ids if access.can(t, capability)])


class AuditEntry(models.Model):
    """Who did what to which object, in which tenant, from where. Append-only.

    The database refuses UPDATE and DELETE on this table (trigger in the migration),
    so not even a bug or an attacker with the app's credentials can rewrite history.
    """

    class Source(models.TextChoices):
        UI = "ui", "Web UI"
        API = "api", "REST API"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "Scheduler"
        CLI = "cli", "Command line"

    at = models.DateTimeField(default=timezone.now)
    # No database constraint: users are deactivated rather than deleted, and the trigger
    # would refuse the SET NULL an FK cascade would attempt.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254)
    source = models.CharField(max_length=10, choices=Source.choices)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    # PROTECT: a tenant with history is archived, never deleted.
    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-at"], name="audit_tenant_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type} {self.object_repr}"
