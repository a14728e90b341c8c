"""Hypothesis strategies for inputs that are structured but wrong: real documents, mutated.

A random JSON value is rejected at the first check; a real document with one value of the
wrong type, a missing key or a string where a list belongs reaches the code behind that check.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Deterministic (the same inputs on every run, so CI cannot flake) and bounded.
BOUNDED = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

__all__ = ["BOUNDED", "json_documents", "json_values", "payload_bytes", "xml_documents"]

# Values that parsers look at twice: versions, ids, dates, vectors, numbers that are not numbers.
_PLAUSIBLE = [
    "",
    " ",
    "0",
    "*",
    "-1",
    "1e309",
    "NaN",
    "CVE-2024-0001",
    "CVE-24-1",
    "1:2.0-1",
    "2024-02-30",
    "2024-01-01T00:00:00Z",
    "2024-01-01T25:61:00+99:00",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:X",
    "pkg:rpm/redhat/openssl@1:3.0.7-27.el9?arch=x86_64",
    "pkg:",
    "KB5034441",
    "\x00",
    "é" * 3,
]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=24),
    st.sampled_from(_PLAUSIBLE),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=6,
)


_DELETE = object()


def _locations(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_locations(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_locations(item, (*path, index)))
    return found


def _get(document: Any, path: tuple) -> Any:
    for step in path:
        document = document[step]
    return document


@st.composite
def _mutate_json(draw, document: Any) -> Any:
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_locations(document)))
        old = _get(document, path)
        action = draw(st.sampled_from(["replace", "replace", "delete", "stringify", "wrap", "unwrap", "empty"]))
        if action == "replace":
            new = draw(json_values)
        elif action == "stringify":
            new = json.dumps(old) if not isinstance(old, str) else draw(st.sampled_from([0, 1.5, None, True]))
        elif action == "wrap":
            new = [old] if draw(st.booleans()) else {"value": old}
        elif action == "unwrap":
            children = list(old.values()) if isinstance(old, dict) else old if isinstance(old, list) else [old]
            new = children[0] if children else None
        elif action == "empty":
            new = type(old)() if isinstance(old, (dict, list, str)) else None
        else:
            new = _DELETE
        if not path:
            document = None if new is _DELETE else new
            continue
        parent = _get(document, path[:-1])
        if new is _DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = new
    return document


def json_documents(documents: list[Any]):
    """Mutated copies of `documents`, as the Python values json.loads would give."""
    return st.sampled_from(documents).flatmap(_mutate_json)


@st.composite
def _mutate_bytes(draw, payload: bytes) -> bytes:
    """A document cut short, or with a few bytes changed: what a broken download gives."""
    if draw(st.booleans()):
        return payload[: draw(st.integers(min_value=0, max_value=len(payload)))]
    data = bytearray(payload)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not data:
            break
        data[draw(st.integers(min_value=0, max_value=len(data) - 1))] = draw(st.integers(min_value=0, max_value=255))
    return bytes(data)


def payload_bytes(documents: list[Any]):
    """Serialised mutated documents, and now and then a damaged byte string."""
    encoded = [json.dumps(d).encode() for d in documents]
    return st.one_of(
        json_documents(documents).map(lambda d: json.dumps(d).encode()),
        st.sampled_from(encoded).flatmap(_mutate_bytes),
    )


@st.composite
def _mutate_xml(draw, payload: bytes) -> bytes:
    root = ET.fromstring(payload)  # noqa: S314 - the test's own fixtures
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        parents = {child: parent for parent in root.iter() for child in parent}
        element = draw(st.sampled_from(list(root.iter())))
        action = draw(st.sampled_from(["text", "text", "remove", "duplicate", "attribute", "rename"]))
        if action == "text":
            element.text = draw(st.text(max_size=24) | st.sampled_from(_PLAUSIBLE))
        elif action == "remove" and element in parents:
            parents[element].remove(element)
        elif action == "duplicate" and element in parents:
            parents[element].append(copy.deepcopy(element))
        elif action == "attribute":
            name = draw(st.sampled_from(sorted(element.attrib) or ["Type"]))
            element.set(name, draw(st.text(max_size=12) | st.sampled_from(_PLAUSIBLE)))
        elif action == "rename":
            namespace = element.tag[: element.tag.index("}") + 1] if "}" in element.tag else ""
            element.tag = namespace + draw(st.sampled_from(["Note", "Title", "X"]))
    return ET.tostring(root)


def xml_documents(payloads: list[bytes]):
    """Mutated XML documents (elements removed, duplicated or renamed, text replaced), or damaged bytes."""
    return st.one_of(
        st.sampled_from(payloads).flatmap(_mutate_xml),
        st.sampled_from(payloads).flatmap(_mutate_bytes),
    )
