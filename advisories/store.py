"""Storing advisories idempotently: an unchanged record costs a hash comparison, nothing more."""

from __future__ import annotations

from django.utils import timezone

from advisories.feeds.base import StoreResult
from advisories.models import Advisory, AffectedPackage

__all__ = ["store_advisories"]


def store_advisories(kind: str, records: list, source) -> StoreResult:
    """Upsert advisories given as records with .key, .fields, .affected and .hash."""
    result = StoreResult()
    by_key = {r.key: r for r in records}  # the last copy of a duplicated id wins
    result.unchanged += len(records) - len(by_key)  # the other copies add nothing
    existing = {
        a.advisory_id: a
        for a in Advisory.objects.filter(advisory_id__in=by_key).only("id", "advisory_id", "content_hash")
    }
    changed: list[Advisory] = []
    for key, record in by_key.items():
        current = existing.get(key)
        if current is not None and current.content_hash == record.hash:
            result.unchanged += 1
            continue
        if record.fields is None:
            raise ValueError(f"{key}: changed by another run while this one read it; not stored")
        advisory = current or Advisory(advisory_id=key)
        advisory.kind, advisory.source, advisory.content_hash = kind, source, record.hash
        advisory.ingested_at = timezone.now()
        for name, value in record.fields.items():
            setattr(advisory, name, value)
        changed_fields = record.fields
        changed.append(advisory)
        if current is None:
            result.added += 1
        else:
            result.updated += 1
        result.touched.add(key)
    if not changed:
        return result
    new = [a for a in changed if a.pk is None]
    old = [a for a in changed if a.pk is not None]
    Advisory.objects.bulk_create(new, batch_size=500)
    if old:
        fields = ["kind", "source", "content_hash", "ingested_at", *changed_fields]
        Advisory.objects.bulk_update(old, fields, batch_size=500)
        AffectedPackage.objects.filter(advisory__in=old).delete()
    AffectedPackage.objects.bulk_create(
        [AffectedPackage(advisory=a, **entry) for a in changed for entry in by_key[a.advisory_id].affected],
        batch_size=1000,
    )
    return result
