"""Display helpers for approvals: readable queue statuses and who decided what."""

from __future__ import annotations

from django import template

from patches.forms.approvals import STATUS_LABELS

register = template.Library()


@register.filter
def status_label(status: str) -> str:
    """'awaiting_client' -> 'Awaiting client'; approval states fall back to their own name."""
    return STATUS_LABELS.get(status, str(status).replace("_", " ").capitalize())
