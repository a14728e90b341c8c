"""Data snapshots for reports: plain JSON built from the database in the caller's scope.

A report is rendered from its snapshot alone, so the same snapshot always gives the same PDF.
"""

from reports.snapshots import deployment, executive, monthly

__all__ = ["deployment", "executive", "monthly"]
