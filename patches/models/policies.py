"""Patch policies: settings at five levels, each value set or inherited (see patches.policy)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from patches.models.scoping import ScopedModel, scope_constraints

__all__ = ["PatchPolicy"]


class PatchPolicy(ScopedModel):
    """The settings one scope sets; a key absent from `settings` is inherited from above.

    The keys and their types are in patches.policy.FIELDS; forms and the API validate them
    there, so a stored policy never holds a key nothing reads.
    """

    name = models.CharField(max_length=200, blank=True)
    # Among a device's group policies, the highest priority applies (then the group's name).
    priority = models.IntegerField(default=0)
    settings = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scope", "tenant_id", "-priority", "id"]
        constraints = [
            *scope_constraints("policy"),
            models.UniqueConstraint(
                fields=["scope", "tenant", "site", "group", "device"],
                nulls_distinct=False,
                name="policy_one_per_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"Policy for {self.scope_label}"
