"""What a JSON file in a CSAF location is, and the document-level fields every CSAF reader needs.

A CSAF provider's directory holds more than advisories: `provider-metadata.json`, ROLIE feeds
and aggregator lists describe the directory itself and are skipped without complaint. CSAF 2.0
documents (`document.csaf_version` "2.0") and OpenVEX documents (`@context` under
https://openvex.dev/ns) are read; anything else is reported as unrecognised.

Reads `document.tracking.{id, initial_release_date, current_release_date}`.
"""

from __future__ import annotations

import datetime as dt
import enum

from django.utils.dateparse import parse_datetime

__all__ = ["DocumentInvalid", "Kind", "classify", "parse_time", "tracking_id"]

OPENVEX_CONTEXT = "https://openvex.dev/ns"


class DocumentInvalid(ValueError):
    pass


class Kind(enum.Enum):
    CSAF = "csaf"
    OPENVEX = "openvex"
    DIRECTORY_METADATA = "directory metadata"


def classify(data) -> Kind:
    """The kind of a parsed JSON document; DocumentInvalid saying why when it is none we read."""
    if not isinstance(data, dict):
        raise DocumentInvalid("not a JSON object")
    document = data.get("document")
    if isinstance(document, dict):
        version = document.get("csaf_version")
        if version == "2.0":
            return Kind.CSAF
        raise DocumentInvalid(f"document.csaf_version is {version!r}; only CSAF 2.0 is read")
    context = data.get("@context")
    if isinstance(context, str) and context.startswith(OPENVEX_CONTEXT):
        return Kind.OPENVEX
    if {"canonical_url", "metadata_version", "role"} <= data.keys() or "aggregator" in data or "feed" in data:
        return Kind.DIRECTORY_METADATA  # provider-metadata.json, aggregator.json, ROLIE feeds
    raise DocumentInvalid(f"neither CSAF 2.0 nor OpenVEX (top-level keys: {', '.join(sorted(data)[:8])})")


def tracking_id(data: dict) -> str:
    tracking = data["document"].get("tracking")
    value = tracking.get("id") if isinstance(tracking, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise DocumentInvalid("document.tracking.id: required")
    return value.strip()


def parse_time(value, where: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but impossible, e.g. month 13
        parsed = None
    if parsed is None:
        raise DocumentInvalid(f"{where}: not an RFC 3339 time: {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
