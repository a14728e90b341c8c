"""Storing VEX statements: upsert on (document_id, cve_id, product_id), nothing written when unchanged.

A record holds every statement of one document, so statements a new revision no longer
makes are deleted with it; when some statements of the revision could not be read, nothing
is deleted (a partial read must not remove what was there).
"""

from __future__ import annotations

from advisories.feeds.base import StoreResult
from advisories.feeds.csaf.vex import VexRecord
from advisories.models import Advisory, VexStatement

__all__ = ["store_vex"]

VALUE_FIELDS = ["purl", "ecosystem", "package", "version", "status", "justification", "statement"]


def store_vex(records: list[VexRecord], source=None) -> StoreResult:
    result = StoreResult()
    by_document = {r.key: r for r in records}  # the last copy of a repeated document wins
    existing: dict[str, dict[tuple[str, str], VexStatement]] = {}
    for row in VexStatement.objects.filter(document_id__in=by_document):
        existing.setdefault(row.document_id, {})[(row.cve_id, row.product_id)] = row
    new, changed, gone, cves = [], [], [], set()
    for document_id, record in by_document.items():
        stored = existing.get(document_id, {})
        wanted = {(s["cve_id"], s["product_id"]): s for s in record.statements}
        before = len(new) + len(changed) + len(gone)
        for key, values in wanted.items():
            row = stored.get(key)
            if row is None:
                new.append(VexStatement(source=source, **values))
            elif any(getattr(row, f) != values[f] for f in VALUE_FIELDS):
                for f in VALUE_FIELDS:
                    setattr(row, f, values[f])
                changed.append(row)
            else:
                continue
            cves.add(key[0])
        if record.complete:
            for key, row in stored.items():
                if key not in wanted:
                    gone.append(row.pk)
                    cves.add(key[0])
        if len(new) + len(changed) + len(gone) > before:
            if stored:
                result.updated += 1
            else:
                result.added += 1
        elif stored or wanted:
            result.unchanged += 1
    if new:
        VexStatement.objects.bulk_create(new, batch_size=1000)
    if changed:
        VexStatement.objects.bulk_update(changed, VALUE_FIELDS, batch_size=1000)
    if gone:
        VexStatement.objects.filter(pk__in=gone).delete()
    if cves:
        # A statement changes which findings stand: the advisories naming its CVE are re-matched.
        result.touched = set(Advisory.objects.filter(cves__overlap=sorted(cves)).values_list("advisory_id", flat=True))
    return result
