from __future__ import annotations

from django.db import models

__all__ = ["VexStatement"]


class VexStatement(models.Model):
    """A vendor's statement about a CVE and a product (CSAF product_status, OpenVEX).

    `not_affected` statements suppress matching findings: the vendor says the vulnerable
    code is absent or not reachable. Products are identified by package URL where the
    document gives one (ecosystem, name and optionally an exact version).
    """

    class Status(models.TextChoices):
        NOT_AFFECTED = "not_affected", "Not affected"
        AFFECTED = "affected", "Affected"
        FIXED = "fixed", "Fixed"
        UNDER_INVESTIGATION = "under_investigation", "Under investigation"

    source = models.ForeignKey(
        "advisories.FeedSource", null=True, blank=True, on_delete=models.SET_NULL, related_name="vex_statements"
    )
    document_id = models.CharField(max_length=200)
    cve_id = models.CharField(max_length=30, db_index=True)
    product_id = models.CharField(max_length=500, help_text="The document's product identifier.")
    purl = models.CharField(max_length=500, blank=True)
    ecosystem = models.CharField(max_length=120, blank=True, help_text="OSV ecosystem derived from the purl.")
    package = models.CharField(max_length=255, blank=True)
    version = models.CharField(max_length=255, blank=True, help_text="Empty: every version.")
    status = models.CharField(max_length=30, choices=Status.choices)
    justification = models.CharField(max_length=200, blank=True)
    statement = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document_id", "cve_id", "product_id"], name="vex_statement_unique")
        ]
        indexes = [models.Index(fields=["ecosystem", "package"], name="vex_eco_package")]

    def __str__(self) -> str:
        return f"{self.cve_id} {self.package or self.product_id}: {self.status}"
