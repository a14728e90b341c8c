"""Feed kind -> adapter class."""

from __future__ import annotations

import importlib

from advisories.models import FeedKind

_ADAPTERS = {
    FeedKind.OSV: "advisories.feeds.osv.OsvFeed",
    FeedKind.KEV: "advisories.feeds.kev.KevFeed",
    FeedKind.EPSS: "advisories.feeds.epss.EpssFeed",
    FeedKind.NVD: "advisories.feeds.nvd.NvdFeed",
    FeedKind.MSRC: "advisories.feeds.msrc.MsrcFeed",
    FeedKind.CSAF: "advisories.feeds.csaf.CsafFeed",
    FeedKind.DEBIAN_TRACKER: "advisories.feeds.debian_tracker.DebianTrackerFeed",
}


def feed_for(kind: str):
    try:
        path = _ADAPTERS[kind]
    except KeyError:
        raise ValueError(f"unknown feed kind {kind!r}; one of {', '.join(_ADAPTERS)}") from None
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)()
