"""A CSAF 2.0 advisory as an Advisory in OSV's shape.

Reads `document.{title, notes, references, aggregate_severity.text}`, `document.tracking`
(id -> advisory_id, initial_release_date -> published, current_release_date -> modified),
`vulnerabilities[].{cve, scores[].cvss_v3|cvss_v2.vectorString, product_status,
remediations[category vendor_fix]}` and the product tree.

Affected entries: Red Hat's come from the fixed RPMs (advisories.feeds.csaf.redhat). Other
publishers' only where a product has a purl we can map to an ecosystem and its status gives
a version boundary: a single fixed version per package makes the range [0, fixed), products
known to be affected add their exact versions. Everything else (CPE-only products, firmware,
several fixed versions whose branches the document does not say) is listed and shown, not matched.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from advisories import versions
from advisories.feeds.base import content_hash
from advisories.feeds.csaf import redhat
from advisories.feeds.csaf.document import parse_time
from advisories.feeds.csaf.ecosystems import package_key
from advisories.feeds.csaf.product_tree import ProductTree
from advisories.feeds.csaf.purl import parse_purl
from advisories.feeds.csaf.vex import CVE_ID
from advisories.scoring import parse_vector, severity_for_score

__all__ = ["AdvisoryRecord", "build_advisory", "fixed_product_ids"]

# CSAF leaves the aggregate severity's words to the publisher; these are Red Hat's, BSI's and CVSS's.
_SEVERITY_WORDS = {
    "critical": "critical",
    "important": "high",
    "high": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "none": "none",
}
_DETAIL_NOTES = ("summary", "description", "details", "general")
_FIXED_STATUSES = ("fixed", "first_fixed")
_AFFECTED_STATUSES = ("known_affected", "first_affected", "last_affected")
_OTHER_STATUSES = ("known_affected", "first_affected", "last_affected", "known_not_affected", "under_investigation")


@dataclass
class AdvisoryRecord:
    key: str
    fields: dict
    affected: list[dict]
    hash: str


def _vulnerabilities(data: dict) -> list[dict]:
    items = data.get("vulnerabilities") or []
    return [v for v in items if isinstance(v, dict)] if isinstance(items, list) else []


def _ids(value) -> list[str]:
    return [p for p in value if isinstance(p, str)] if isinstance(value, list) else []


def fixed_product_ids(vulnerability: dict, tree: ProductTree) -> list[str]:
    """Products fixed for a vulnerability: its fixed statuses, and vendor_fix products without another status.

    A vendor_fix naming an affected product ("update to 1.1") is advice, not a fixed build.
    """
    status = vulnerability.get("product_status")
    status = status if isinstance(status, dict) else {}
    fixed = [p for key in _FIXED_STATUSES for p in _ids(status.get(key))]
    other = {p for key in _OTHER_STATUSES for p in _ids(status.get(key))}
    for remediation in vulnerability.get("remediations") or []:
        if isinstance(remediation, dict) and remediation.get("category") == "vendor_fix":
            ids = tree.expand(_ids(remediation.get("product_ids")), _ids(remediation.get("group_ids")))
            fixed.extend(p for p in ids if p not in other)
    return list(dict.fromkeys(fixed))


def _severity(document: dict, vulnerabilities: list[dict]) -> tuple[str, str, object]:
    """(bucket, CVSS vector, score): the publisher's aggregate word first, else the highest CVSS."""
    best = None
    for vulnerability in vulnerabilities:
        for score in vulnerability.get("scores") or []:
            for key in ("cvss_v3", "cvss_v2"):
                cvss = score.get(key) if isinstance(score, dict) else None
                vector = cvss.get("vectorString") if isinstance(cvss, dict) else None
                try:
                    _, value = parse_vector(vector or "")
                except ValueError:
                    continue
                rank = (key == "cvss_v3", value)
                if best is None or rank > best[0]:
                    best = (rank, vector, value)
    vector, value = (best[1], best[2]) if best else ("", None)
    aggregate = document.get("aggregate_severity")
    word = str(aggregate.get("text", "")).strip().lower() if isinstance(aggregate, dict) else ""
    return _SEVERITY_WORDS.get(word) or severity_for_score(value), vector, value


def _details(document: dict) -> str:
    notes = [n for n in document.get("notes") or [] if isinstance(n, dict) and n.get("category") in _DETAIL_NOTES]
    return "\n\n".join(str(n.get("text", "")).strip() for n in notes if n.get("text"))


def _references(document: dict, vulnerabilities: list[dict]) -> list[dict]:
    out, seen = [], set()
    for ref in [*(document.get("references") or []), *(r for v in vulnerabilities for r in v.get("references") or [])]:
        url = ref.get("url") if isinstance(ref, dict) else None
        if isinstance(url, str) and url not in seen:
            seen.add(url)
            out.append({"type": "ADVISORY" if ref.get("category") == "self" else "WEB", "url": url})
    return out[:50]


def _purl_affected(tree: ProductTree, vulnerabilities: list[dict]) -> tuple[list[dict], list[tuple[str, str]]]:
    """Affected entries of a non-Red Hat advisory, from products whose purl maps to an ecosystem."""
    fixed, explicit, purls = defaultdict(set), defaultdict(set), {}
    problems = []

    def note(product_id: str, into) -> None:
        product = tree.get(product_id)
        key = package_key(product.purl) if product.purl else None
        if key is None or not key.version:
            return
        try:
            versions.validate(key.ecosystem, key.version)
        except ValueError as exc:
            problems.append((product_id, str(exc)))
            return
        into[(key.ecosystem, key.name)].add(key.version)
        purls[(key.ecosystem, key.name)] = parse_purl(product.purl).without_version()

    for vulnerability in vulnerabilities:
        for product_id in fixed_product_ids(vulnerability, tree):
            note(product_id, fixed)
        status = vulnerability.get("product_status")
        for key in _AFFECTED_STATUSES:
            for product_id in _ids(status.get(key) if isinstance(status, dict) else None):
                note(product_id, explicit)
    affected = []
    for ecosystem, name in sorted(fixed.keys() | explicit.keys()):
        fixes = sorted(fixed[(ecosystem, name)])
        # One fix is a boundary; several are fixes on branches whose starts the document does not give.
        ranges = []
        if len(fixes) == 1:
            ranges = [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixes[0]}]}]
        known = sorted(explicit[(ecosystem, name)])
        if ranges or known:
            affected.append(
                {
                    "ecosystem": ecosystem,
                    "name": name,
                    "purl": purls[(ecosystem, name)],
                    "ranges": ranges,
                    "versions": known,
                    "fixed_versions": fixes if ranges else [],
                    "severity": "",
                }
            )
    return affected, list(dict.fromkeys(problems))  # a product named under several CVEs is reported once


def build_advisory(data: dict, advisory_id: str, tree: ProductTree) -> tuple[AdvisoryRecord, list[tuple[str, str]]]:
    """The record, and the products left out with why (each reported; the advisory still lands)."""
    document = data["document"]
    vulnerabilities = _vulnerabilities(data)
    if redhat.is_red_hat(document):
        fixed = [p for v in vulnerabilities for p in fixed_product_ids(v, tree)]
        affected, problems = redhat.affected_packages(tree, list(dict.fromkeys(fixed)))
    else:
        affected, problems = _purl_affected(tree, vulnerabilities)
    tracking = document["tracking"]
    severity, vector, score = _severity(document, vulnerabilities)
    fields = {
        "summary": str(document.get("title") or "")[:500],
        "details": _details(document),
        "aliases": [],
        "cves": sorted({v["cve"].strip() for v in vulnerabilities if CVE_ID.fullmatch(str(v.get("cve", "")).strip())}),
        "severity": severity,
        "cvss_vector": vector,
        "cvss_score": score,
        "published": parse_time(tracking.get("initial_release_date"), "document.tracking.initial_release_date"),
        "modified": parse_time(tracking.get("current_release_date"), "document.tracking.current_release_date"),
        "withdrawn": None,
        "references": _references(document, vulnerabilities),
        "has_git_ranges": False,
        "raw": data,
    }
    # The hash covers what is stored, so a change in the conversion rewrites unchanged documents too.
    return AdvisoryRecord(advisory_id, fields, affected, content_hash([fields, affected])), problems
