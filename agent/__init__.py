"""PatchPortal endpoint agent: reports installed software and offered updates to the portal.

Standard library only, Python 3.9+, so it runs on the Python a server already has.
"""

__version__ = "1.0.0"
