from advisories.models.advisory import Advisory, AffectedPackage, Severity
from advisories.models.feeds import FeedKind, FeedRun, FeedSource
from advisories.models.intel import Cve, EpssScore, KevEntry
from advisories.models.vex import VexStatement
from advisories.models.windows import WindowsKb

__all__ = [
    "Advisory",
    "AffectedPackage",
    "Cve",
    "EpssScore",
    "FeedKind",
    "FeedRun",
    "FeedSource",
    "KevEntry",
    "Severity",
    "VexStatement",
    "WindowsKb",
]
