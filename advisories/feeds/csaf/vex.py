"""CSAF product statuses as VEX statements: one per (document, CVE, product).

Reads `vulnerabilities[].{cve, product_status, flags, threats, remediations}`:

* product_status known_not_affected -> not_affected, with the product's flag label
  (component_not_present, vulnerable_code_not_present, …) as justification and its
  `impact` threat details as the statement;
* known_affected, first_affected, last_affected -> affected; fixed, first_fixed -> fixed;
  under_investigation -> under_investigation; the statement is the product's remediation advice.

Each product's purl gives ecosystem, package and version (advisories.feeds.csaf.ecosystems);
Red Hat's purls name no release, so their platform's CPE does. Products without a usable purl
keep those empty: stored and shown, not matched. A vulnerability without a CVE id is left out
(statements are keyed by CVE).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from advisories.feeds.base import content_hash
from advisories.feeds.csaf import redhat
from advisories.feeds.csaf.ecosystems import PackageKey, package_key
from advisories.feeds.csaf.product_tree import Product, ProductTree

__all__ = ["ALL_STATUSES", "VexRecord", "csaf_statements", "statement"]

CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")
# product_status lists in the order they are applied: a product listed twice keeps the later status.
STATUS_LISTS = (
    ("under_investigation", "under_investigation"),
    ("known_affected", "affected"),
    ("first_affected", "affected"),
    ("last_affected", "affected"),
    ("first_fixed", "fixed"),
    ("fixed", "fixed"),
    ("known_not_affected", "not_affected"),
)
ALL_STATUSES = frozenset(status for _, status in STATUS_LISTS)
# VexStatement's column sizes: a longer value is reported rather than cut (cut ids could collide).
_LIMITS = {"document_id": 200, "cve_id": 30, "product_id": 500, "purl": 500, "package": 255, "version": 255}


@dataclass
class VexRecord:
    """All statements of one document: stored together, so a revision replaces what it no longer says."""

    key: str  # the document id
    statements: list[dict]
    complete: bool  # False when some statements were unreadable: then nothing of the document is deleted
    hash: str = ""

    def __post_init__(self):
        self.statements.sort(key=lambda s: (s["cve_id"], s["product_id"]))
        self.hash = content_hash(self.statements)


def statement(document_id, cve_id, product_id, purl, key: PackageKey | None, status, justification="", text=""):
    """A VexStatement's fields; ValueError when one does not fit its column."""
    row = {
        "document_id": document_id,
        "cve_id": cve_id,
        "product_id": product_id,
        "purl": purl or "",
        "ecosystem": key.ecosystem if key else "",
        "package": key.name if key else "",
        "version": key.version if key else "",
        "status": status,
        "justification": (justification or "")[:200],
        "statement": text or "",
    }
    for name, limit in _LIMITS.items():
        if len(row[name]) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
    return row


def _by_product(items, tree: ProductTree, value: Callable[[dict], str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not value(item):
            continue
        for product_id in tree.expand(item.get("product_ids"), item.get("group_ids")):
            out.setdefault(product_id, []).append(value(item))
    return out


def _key_for(product: Product, tree: ProductTree, red_hat: bool) -> PackageKey | None:
    key = package_key(product.purl) if product.purl else None
    if key is None and red_hat:
        key = redhat.vex_package_key(product, tree)
    return key


def csaf_statements(
    data: dict, document_id: str, tree: ProductTree, statuses=ALL_STATUSES
) -> tuple[VexRecord, list[tuple[str, str]]]:
    """The document's statements with the given statuses, and the ones left out with why."""
    red_hat = redhat.is_red_hat(data["document"])
    rows: dict[tuple[str, str], dict] = {}
    problems = []
    vulnerabilities = data.get("vulnerabilities") or []
    for index, vulnerability in enumerate(vulnerabilities if isinstance(vulnerabilities, list) else []):
        where = f"vulnerabilities[{index}]"
        if not isinstance(vulnerability, dict):
            problems.append((where, "must be an object"))
            continue
        cve = vulnerability.get("cve")
        if cve is None:
            continue
        if not isinstance(cve, str) or not CVE_ID.fullmatch(cve.strip()):
            problems.append((where, f"cve {cve!r} is not a CVE id"))
            continue
        cve = cve.strip()
        product_status = vulnerability.get("product_status") or {}
        if not isinstance(product_status, dict):
            problems.append((f"{cve}", "product_status must be an object"))
            continue
        flags = _by_product(vulnerability.get("flags"), tree, lambda f: str(f.get("label") or ""))
        threats = _by_product(
            vulnerability.get("threats"),
            tree,
            lambda t: str(t.get("details") or "") if t.get("category") == "impact" else "",
        )
        advice = _by_product(vulnerability.get("remediations"), tree, lambda r: str(r.get("details") or ""))
        for list_name, status in STATUS_LISTS:
            if status not in statuses:
                continue
            listed = product_status.get(list_name) or []
            if not isinstance(listed, list):
                problems.append((cve, f"product_status.{list_name} must be a list"))
                continue
            for product_id in listed:
                if not isinstance(product_id, str):
                    problems.append((cve, f"product_status.{list_name}: {product_id!r} is not a product id"))
                    continue
                product = tree.get(product_id)
                text = threats.get(product_id) if status == "not_affected" else advice.get(product_id)
                try:
                    rows[(cve, product_id)] = statement(
                        document_id,
                        cve,
                        product_id,
                        product.purl,
                        _key_for(product, tree, red_hat),
                        status,
                        (flags.get(product_id) or [""])[0],
                        "\n\n".join(dict.fromkeys(text or [])),
                    )
                except ValueError as exc:
                    problems.append((f"{cve} {product_id[:120]}", str(exc)))
    return VexRecord(document_id, list(rows.values()), complete=not problems), problems
