"""The client's side of approvals: what waits for their sign-off, in words a business owner
reads, and what they decided before."""

from __future__ import annotations

from dataclasses import dataclass

from patches.models import Approval, ApprovalState, Classification, Reboot

__all__ = ["ClientDecision", "awaiting_sign_off", "client_history", "plain_language", "tenant_sign_off_panel"]

HISTORY_LENGTH = 10

_SEVERITY_WORDS = {
    "critical": "Your IT provider's sources rate it critical: it should be installed as soon as possible.",
    "high": "Rated high: it should be installed soon.",
    "medium": "Rated medium.",
    "low": "Rated low.",
}


def awaiting_sign_off(tenant):
    """The tenant's approvals sent to the client and not yet decided, newest first."""
    return (
        Approval.objects.filter(
            tenant=tenant, state=ApprovalState.PENDING, needs_client=True, client_requested_at__isnull=False
        )
        .select_related("patch", "decided_by", "site", "group", "device", "tenant")
        .order_by("-client_requested_at", "-id")
    )


def plain_language(patch) -> list[str]:
    """What installing the patch does for the client, one sentence per fact."""
    facts = []
    cves = len(patch.cves)
    if cves:
        holes = "a known security hole" if cves == 1 else f"{cves} known security holes"
        facts.append(f"Closes {holes}.")
    elif patch.classification in (Classification.SECURITY, Classification.CRITICAL):
        facts.append("A security update.")
    else:
        facts.append(f"A {patch.get_classification_display().lower()} update; it fixes no known security hole.")
    if patch.kev:
        facts.append(
            "Attackers are already exploiting "
            + ("it" if cves == 1 else "at least one of them")
            + " (listed in CISA's catalog of known exploited vulnerabilities)."
        )
    if patch.severity in _SEVERITY_WORDS:
        facts.append(_SEVERITY_WORDS[patch.severity])
    if patch.reboot == Reboot.REQUIRED:
        facts.append("Computers restart to finish installing it, inside the agreed maintenance window.")
    return facts


@dataclass(frozen=True)
class ClientDecision:
    at: object
    by: str
    approved: bool
    comment: str
    patch_label: str


def client_history(tenant, limit: int = HISTORY_LENGTH) -> list[ClientDecision]:
    """The client's past sign-offs and refusals, newest first, from the audit log.

    The approval row itself cannot tell them: a technician may reopen it (which clears the
    client's decision) and supersedence or expiry overwrite its state. The audit log keeps
    each decision as it was made.
    """
    from tenants.models import AuditEntry

    entries = list(
        AuditEntry.objects.filter(
            tenant=tenant, object_type=Approval._meta.label_lower, changes__has_key="client_decided_at"
        )
        .exclude(changes__client_decided_at__1=None)
        .order_by("-at", "-id")[:limit]
    )
    approvals = Approval.objects.select_related("patch").in_bulk([int(e.object_id) for e in entries])
    decisions = []
    for entry in entries:
        approval = approvals.get(int(entry.object_id))
        state = (entry.changes.get("state") or [None, None])[1]
        comment = (entry.changes.get("client_comment") or [None, ""])[1] or ""
        decisions.append(
            ClientDecision(
                at=entry.at,
                by=entry.actor_label,
                approved=state != ApprovalState.REJECTED,
                comment=comment,
                patch_label=str(approval.patch) if approval else entry.object_repr,
            )
        )
    return decisions


def tenant_sign_off_panel(request, tenant) -> dict:
    """A nudge on the tenant summary when updates wait for the client's decision."""
    waiting = awaiting_sign_off(tenant).count() if request.access.can(tenant.pk, "signoff.view") else 0
    return {
        "template": "patches/_sign_off_panel.html",
        "waiting": waiting,
        "can_decide": request.access.can(tenant.pk, "approval.client_decide"),
    }
