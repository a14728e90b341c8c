"""Signals devices sends for apps above it (matching listens; devices imports nothing of them)."""

from django.dispatch import Signal

# Sent inside the transaction that changed a device's installed software.
# Arguments: device, added (package ids), removed (package ids).
inventory_changed = Signal()

# Sent inside the transaction that changed the updates a device is offered. Arguments: device.
updates_changed = Signal()

# Sent inside the transaction that saved a device whose criticality changed. Arguments: device.
criticality_changed = Signal()
