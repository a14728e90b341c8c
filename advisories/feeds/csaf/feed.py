"""The "csaf" feed: CSAF 2.0 advisories and VEX documents, and OpenVEX, from any location.

Locations: a file, a folder, a zip archive or a URL of one document (advisories.feeds.locations),
or the URL of a Red Hat-style `changes.csv` index (advisories.feeds.csaf.index).

Each document gives up to two records:
* a CSAF document that is not a VEX (csaf_security_advisory, csaf_informational_advisory,
  a publisher's own category) -> an Advisory keyed by document.tracking.id;
* its product statuses -> VEX statements: all of them for csaf_vex documents and other
  publishers' advisories, only known_not_affected for Red Hat's advisories (what they fix is
  already in the Advisory's ranges); an OpenVEX document -> its statements.
Directory metadata (provider-metadata.json, ROLIE feeds) is skipped; anything else that is not
CSAF 2.0 or OpenVEX is reported with the document's name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from advisories.feeds.base import Document, Feed, RecordError, StoreResult
from advisories.feeds.csaf import redhat
from advisories.feeds.csaf.advisory import AdvisoryRecord, build_advisory
from advisories.feeds.csaf.document import DocumentInvalid, Kind, classify, tracking_id
from advisories.feeds.csaf.index import IndexProblem, is_index, read_index
from advisories.feeds.csaf.openvex import openvex_statements
from advisories.feeds.csaf.product_tree import ProductTree
from advisories.feeds.csaf.vex import ALL_STATUSES, VexRecord, csaf_statements

__all__ = ["CsafFeed"]

# Malformed structure (a list where an object belongs, a number for a name) surfaces as these.
_STRUCTURE_ERRORS = (AttributeError, KeyError, TypeError, ValueError)


def _csaf_records(data: dict) -> Iterator[AdvisoryRecord | VexRecord | RecordError]:
    document_id = tracking_id(data)
    if len(document_id) > 120:
        raise DocumentInvalid(f"document.tracking.id is longer than 120 characters: {document_id[:40]!r}…")
    tree = ProductTree(data.get("product_tree"))
    is_vex = data["document"].get("category") == "csaf_vex"
    if not is_vex:
        advisory, problems = build_advisory(data, document_id, tree)
        for where, why in problems:
            yield RecordError(f"{document_id} {where}", why)
        yield advisory
    statuses = {"not_affected"} if redhat.is_red_hat(data["document"]) and not is_vex else ALL_STATUSES
    vex, problems = csaf_statements(data, document_id, tree, statuses)
    for where, why in problems:
        yield RecordError(f"{document_id} {where}", why)
    yield vex


class CsafFeed(Feed):
    kind = "csaf"

    def documents(self, location: str, source=None, session=None) -> Iterator[Document]:
        if is_index(location):
            yield from read_index(location, source=source, session=session)
        else:
            yield from super().documents(location, source=source, session=session)

    def records(self, document: Document) -> Iterable[AdvisoryRecord | VexRecord | RecordError]:
        if isinstance(document, IndexProblem):
            yield RecordError(document.name, document.problem)
            return
        try:
            data = json.loads(document.payload)
        except ValueError as exc:
            yield RecordError(document.name, f"not JSON: {exc}")
            return
        try:
            kind = classify(data)
            if kind is Kind.DIRECTORY_METADATA:
                return
            # Built in full before anything is yielded: a malformed document yields one error, no half.
            items = list(_csaf_records(data) if kind is Kind.CSAF else self._openvex(data))
        except _STRUCTURE_ERRORS as exc:
            yield RecordError(document.name, str(exc) if isinstance(exc, DocumentInvalid) else f"malformed: {exc!r}")
            return
        yield from items

    @staticmethod
    def _openvex(data: dict) -> Iterator[VexRecord | RecordError]:
        vex, problems = openvex_statements(data)
        for where, why in problems:
            yield RecordError(f"{vex.key} {where}", why)
        yield vex

    def record_key(self, record) -> str:
        return f"{record.key} (VEX statements)" if isinstance(record, VexRecord) else super().record_key(record)

    def store_batch(self, records: list, source) -> StoreResult:
        from advisories.feeds.csaf.vex_store import store_vex
        from advisories.store import store_advisories

        advisories = [r for r in records if isinstance(r, AdvisoryRecord)]
        statements = [r for r in records if isinstance(r, VexRecord)]
        result = store_advisories(self.kind, advisories, source) if advisories else StoreResult()
        if statements:
            vex = store_vex(statements, source)
            result.added += vex.added
            result.updated += vex.updated
            result.unchanged += vex.unchanged
            result.touched |= vex.touched
        return result

    def count_for(self, source) -> int:
        """Advisories and VEX statements this source holds."""
        from advisories.models import Advisory, VexStatement

        return Advisory.objects.filter(source=source).count() + VexStatement.objects.filter(source=source).count()
