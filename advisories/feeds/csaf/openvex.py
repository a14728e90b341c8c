"""OpenVEX documents (https://github.com/openvex/spec, `@context` https://openvex.dev/ns/…) as VEX statements.

Reads `@id` (the document id), `timestamp`, and each statement's `vulnerability` (`name` or
`@id`, else a CVE among `aliases`; v0.0.x gives a plain string), `products[]` (`@id`, or
`identifiers.purl`; v0.0.x gives plain strings), `subcomponents[]`, `status`, `justification`,
`impact_statement`, `action_statement`, `status_notes` and `timestamp`. Statements are applied
oldest first, so a later statement about the same product replaces an earlier one.

When a statement lists subcomponents, it speaks of those components inside the product (a
library in an image), not of the product as a whole, nor of the component wherever else it is
installed. Those rows keep the product and component ids and the component's purl, but no
ecosystem: matching a machine's package by the component alone would apply the statement
to installs it does not cover.
"""

from __future__ import annotations

import re

from advisories.feeds.csaf.document import DocumentInvalid, parse_time
from advisories.feeds.csaf.ecosystems import package_key
from advisories.feeds.csaf.vex import ALL_STATUSES, CVE_ID, VexRecord, statement

__all__ = ["openvex_statements"]


def _cve(vulnerability) -> str:
    if isinstance(vulnerability, str):
        candidates = [vulnerability]
    elif isinstance(vulnerability, dict):
        aliases = vulnerability.get("aliases") if isinstance(vulnerability.get("aliases"), list) else []
        candidates = [vulnerability.get("name"), vulnerability.get("@id"), *aliases]
    else:
        return ""
    for candidate in candidates:
        match = re.search(CVE_ID.pattern, candidate) if isinstance(candidate, str) else None
        if match:
            return match.group(0)
    return ""


def _identity(item) -> tuple[str, str]:
    """(id, purl) of a product or subcomponent."""
    if isinstance(item, str):
        return item, item if item.startswith("pkg:") else ""
    if not isinstance(item, dict):
        return "", ""
    item_id = item.get("@id") if isinstance(item.get("@id"), str) else ""
    identifiers = item.get("identifiers") if isinstance(item.get("identifiers"), dict) else {}
    purl = item_id if item_id.startswith("pkg:") else identifiers.get("purl", "")
    return item_id or (purl if isinstance(purl, str) else ""), purl if isinstance(purl, str) else ""


def _text(raw: dict) -> str:
    parts = [raw.get(k) for k in ("impact_statement", "action_statement", "status_notes")]
    return "\n\n".join(p.strip() for p in parts if isinstance(p, str) and p.strip())


def openvex_statements(data: dict) -> tuple[VexRecord, list[tuple[str, str]]]:
    document_id = data.get("@id")
    if not isinstance(document_id, str) or not document_id.strip():
        raise DocumentInvalid("@id: required")
    document_id = document_id.strip()
    if len(document_id) > 200:
        raise DocumentInvalid(f"@id is longer than 200 characters: {document_id[:40]!r}…")
    statements = data.get("statements")
    if not isinstance(statements, list):
        raise DocumentInvalid("statements: must be a list")
    default_time = parse_time(data.get("timestamp"), "timestamp")
    problems, ordered = [], []
    for index, raw in enumerate(statements):
        if not isinstance(raw, dict):
            problems.append((f"statements[{index}]", "must be an object"))
            continue
        try:
            when = parse_time(raw.get("timestamp"), f"statements[{index}].timestamp") or default_time
        except DocumentInvalid as exc:
            problems.append((f"statements[{index}]", str(exc)))
            continue
        ordered.append((when.timestamp() if when else 0.0, index, raw))
    rows: dict[tuple[str, str], dict] = {}
    for _, index, raw in sorted(ordered, key=lambda item: item[:2]):
        where = f"statements[{index}]"
        cve, status = _cve(raw.get("vulnerability")), raw.get("status")
        if not cve:
            continue  # statements are keyed by CVE; a vulnerability without one is not stored
        if status not in ALL_STATUSES:
            problems.append((f"{where} {cve}", f"status {status!r} is not an OpenVEX status"))
            continue
        justification = raw.get("justification") if isinstance(raw.get("justification"), str) else ""
        legacy_subcomponents = raw.get("subcomponents")  # v0.0.x: on the statement
        products = raw.get("products")
        for product in products if isinstance(products, list) else []:
            product_id, purl = _identity(product)
            if not product_id:
                problems.append((f"{where} {cve}", "a product without @id or purl"))
                continue
            subcomponents = product.get("subcomponents") if isinstance(product, dict) else legacy_subcomponents
            targets = [(product_id, purl, package_key(purl) if purl else None)]
            if isinstance(subcomponents, list) and subcomponents:
                parts = [_identity(sub) for sub in subcomponents]
                targets = [(f"{product_id} > {sub_id}", sub_purl, None) for sub_id, sub_purl in parts if sub_id]
            for target_id, target_purl, key in targets:
                try:
                    rows[(cve, target_id)] = statement(
                        document_id, cve, target_id, target_purl, key, status, justification, _text(raw)
                    )
                except ValueError as exc:
                    problems.append((f"{cve} {target_id[:120]}", str(exc)))
    return VexRecord(document_id, list(rows.values()), complete=not problems), problems
