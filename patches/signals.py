"""Signals patches sends for apps above it (deployments raises alerts; patches imports nothing of it)."""

from django.dispatch import Signal

# After a matching transaction committed in which findings of KEV-listed vulnerabilities
# became open (new, reopened, or newly listed in KEV); sent robustly, so a receiver's error
# never stops the other on-commit work of matching (auto-approval). Arguments: now, tenants, a dict
# tenant id -> {"findings": n, "devices": n, "hosts": [the hostnames with most of them]}.
kev_findings_opened = Signal()
