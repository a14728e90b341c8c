"""A CSAF 2.0 product tree, resolved: every product_id to its name, package URL and CPE.

Reads `product_tree.branches` (nested, any depth; a branch's `product` is a full product name),
`product_tree.full_product_names`, `product_tree.relationships` and `product_tree.product_groups`.
Each product's `product_identification_helper` gives `purl` (CSAF 2.1: `purls`) and `cpe`.

A relationship builds a new product from two others: Red Hat publishes every RPM as
``default_component_of`` a platform, e.g. ``AppStream-9.3.0.Z.MAIN:openssl-1:3.0.7-27.el9.x86_64``
is the package ``openssl-1:3.0.7-27.el9.x86_64`` (whose purl it takes) in the platform
``AppStream-9.3.0.Z.MAIN`` (whose CPE it takes).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Product", "ProductTree"]


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    purl: str = ""
    cpe: str = ""
    component: str = ""  # a relationship's product_reference: the package
    platform: str = ""  # a relationship's relates_to_product_reference: where it is installed


def _helper(product: dict) -> tuple[str, str]:
    helper = product.get("product_identification_helper") or {}
    if not isinstance(helper, dict):
        return "", ""
    purl = helper.get("purl")
    if not purl and isinstance(helper.get("purls"), list) and helper["purls"]:
        purl = helper["purls"][0]
    cpe = helper.get("cpe")
    return (purl if isinstance(purl, str) else ""), (cpe if isinstance(cpe, str) else "")


class ProductTree:
    def __init__(self, tree: dict | None):
        tree = tree if isinstance(tree, dict) else {}
        self.products: dict[str, Product] = {}
        self._walk(tree.get("branches"))
        for product in tree.get("full_product_names") or []:
            self._add(product)
        self._relate(tree.get("relationships") or [])
        self.groups: dict[str, list[str]] = {}
        for group in tree.get("product_groups") or []:
            if isinstance(group, dict) and isinstance(group.get("group_id"), str):
                self.groups[group["group_id"]] = [p for p in group.get("product_ids") or [] if isinstance(p, str)]

    def _add(self, product) -> None:
        if not isinstance(product, dict) or not isinstance(product.get("product_id"), str):
            return
        purl, cpe = _helper(product)
        self.products[product["product_id"]] = Product(
            product["product_id"], str(product.get("name") or product["product_id"]), purl, cpe
        )

    def _walk(self, branches) -> None:
        for branch in branches if isinstance(branches, list) else []:
            if isinstance(branch, dict):
                self._add(branch.get("product"))
                self._walk(branch.get("branches"))

    def _relate(self, relationships: list) -> None:
        # A relationship may build on a product another relationship defines: resolve until no progress.
        pending = [r for r in relationships if isinstance(r, dict) and isinstance(r.get("full_product_name"), dict)]
        while pending:
            waiting = []
            for rel in pending:
                component = self._lookup(rel.get("product_reference"))
                platform = self._lookup(rel.get("relates_to_product_reference"))
                if component is None or platform is None:
                    waiting.append(rel)
                    continue
                full = rel["full_product_name"]
                if not isinstance(full.get("product_id"), str):
                    continue
                purl, cpe = _helper(full)
                # The combined product is the component installed on the platform.
                self.products[full["product_id"]] = Product(
                    full["product_id"],
                    str(full.get("name") or full["product_id"]),
                    purl or component.purl,
                    cpe or platform.cpe,
                    component.product_id,
                    platform.product_id,
                )
            if len(waiting) == len(pending):  # references to products the tree does not define
                for rel in waiting:
                    self._add(rel["full_product_name"])
                return
            pending = waiting

    def _lookup(self, product_id) -> Product | None:
        return self.products.get(product_id) if isinstance(product_id, str) else None

    def get(self, product_id: str) -> Product:
        """The product, or a bare one named by its id when the tree does not define it."""
        return self.products.get(product_id) or Product(product_id, product_id)

    def expand(self, product_ids=None, group_ids=None) -> list[str]:
        """Product ids given directly and through product groups, in order, without repeats."""
        ids = [p for p in product_ids if isinstance(p, str)] if isinstance(product_ids, list) else []
        for group in group_ids if isinstance(group_ids, list) else []:
            ids.extend(self.groups.get(group, []) if isinstance(group, str) else [])
        return list(dict.fromkeys(ids))
