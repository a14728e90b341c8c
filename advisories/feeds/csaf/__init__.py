"""CSAF 2.0 advisories and VEX, and OpenVEX: the "csaf" feed kind (see advisories.feeds.csaf.feed)."""

from advisories.feeds.csaf.feed import CsafFeed

__all__ = ["CsafFeed"]
