"""Signals deployments sends for apps above it (reports), which connect in their ready()."""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["deployment_finished"]

# Sent when a deployment completes or halts, inside the transaction that records it (receivers
# that start work should do so on commit). Arguments: deployment, state, now.
deployment_finished = Signal()
