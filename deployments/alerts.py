"""Raising alerts and delivering them to the channels that want them.

`raise_alert` writes the alert once per `dedupe_key` (a second call is a no-op), adds one
delivery per enabled channel that takes the alert's kind and belongs to the MSP or to the
alert's tenant, and starts the deliveries when the transaction commits. Each delivery is a
Celery task that retries with exponential back-off; the attempts and the last error stay on
the delivery row, which turns `failed` after the last attempt.

Two sources live outside deployments and reach it through the signals their apps expose:
a feed run that failed (advisories.signals.feed_failed) and findings of KEV-listed CVEs that
became open (patches.signals.kev_findings_opened). `register()` connects them, registers
the alert capabilities and the navigation entries; deployments/apps.py ready() calls it.
Report e-mails that failed for good are raised by reports.delivery directly.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from deployments.models import Alert, AlertChannel, AlertDelivery, AlertKind
from portal.db_scope import system_scope

__all__ = [
    "ATTEMPTS",
    "RETRY_DELAY_SECONDS",
    "attempt_delivery",
    "channels_for",
    "deliver_alert",
    "raise_alert",
    "register",
    "send_test_alert",
]

log = logging.getLogger(__name__)

# Attempts per delivery, and the first retry's delay (doubling after each failure); settings
# ALERT_DELIVERY_ATTEMPTS and ALERT_RETRY_DELAY_SECONDS override them.
ATTEMPTS = 6
RETRY_DELAY_SECONDS = 30
MAX_RETRY_DELAY_SECONDS = 3600


def _attempts() -> int:
    return max(1, int(getattr(settings, "ALERT_DELIVERY_ATTEMPTS", ATTEMPTS)))


def _retry_delay(attempts_made: int) -> float:
    base = float(getattr(settings, "ALERT_RETRY_DELAY_SECONDS", RETRY_DELAY_SECONDS))
    return min(base * 2 ** (attempts_made - 1), MAX_RETRY_DELAY_SECONDS)


def channels_for(kind: str, tenant_id: int | None):
    """Enabled channels that take `kind` (no kinds chosen: every kind), MSP-wide or the tenant's."""
    owners = Q(tenant__isnull=True)
    if tenant_id is not None:
        owners |= Q(tenant_id=tenant_id)
    return AlertChannel.objects.filter(owners, Q(kinds=[]) | Q(kinds__contains=[kind]), enabled=True)


def raise_alert(
    kind: str,
    *,
    tenant=None,
    title: str,
    body: str = "",
    link: str = "",
    dedupe_key: str,
    severity: str = Alert.Severity.WARNING,
    now=None,
) -> Alert | None:
    """Create the alert and its deliveries; None when an alert with `dedupe_key` exists.

    `tenant` is a Tenant, its id, or None for an MSP-wide alert. Safe inside any caller's
    transaction and scope: the rows are written in the system scope (a savepoint), and the
    deliveries start only once the outermost transaction commits.
    """
    if kind not in AlertKind.values:
        raise ValueError(f"unknown alert kind {kind!r}")
    tenant_id = getattr(tenant, "pk", tenant)
    with system_scope():
        alert, created = Alert.objects.get_or_create(
            dedupe_key=dedupe_key[:200],
            defaults={
                "tenant_id": tenant_id,
                "kind": kind,
                "severity": severity,
                "title": title[:300],
                "body": body,
                "link": link[:500],
                "created_at": now or timezone.now(),
            },
        )
        if not created:
            return None
        deliveries = AlertDelivery.objects.bulk_create(
            [
                AlertDelivery(tenant_id=tenant_id, alert=alert, channel=channel)
                for channel in channels_for(kind, tenant_id)
            ]
        )
        ids = [d.pk for d in deliveries]
        if ids:
            transaction.on_commit(lambda: [deliver_alert.delay(pk) for pk in ids])
    log.info("alert raised", extra={"alert_kind": kind, "dedupe_key": dedupe_key, "deliveries": len(ids)})
    return alert


def attempt_delivery(delivery_id: int) -> AlertDelivery | None:
    """One attempt at one delivery, its outcome recorded; None if it is no longer pending."""
    from deployments.alert_channels import DeliveryError, send

    with system_scope():
        delivery = (
            AlertDelivery.objects.select_related("alert", "alert__tenant", "channel")
            .filter(pk=delivery_id, state=AlertDelivery.State.PENDING)
            .first()
        )
    if delivery is None:
        return None
    # The network call runs outside any transaction: no row lock or connection held open on it.
    try:
        send(delivery.channel, delivery.alert)
    except DeliveryError as error:
        delivery.last_error = str(error)[:2000]
    else:
        delivery.last_error = ""
    delivery.attempts += 1
    if not delivery.last_error:
        delivery.state, delivery.sent_at = AlertDelivery.State.SENT, timezone.now()
    elif delivery.attempts >= _attempts():
        delivery.state = AlertDelivery.State.FAILED
    with system_scope():
        AlertDelivery.objects.filter(pk=delivery.pk, state=AlertDelivery.State.PENDING).update(
            attempts=delivery.attempts, last_error=delivery.last_error, state=delivery.state, sent_at=delivery.sent_at
        )
    if delivery.state == AlertDelivery.State.FAILED:
        log.warning("alert delivery failed", extra={"delivery": delivery.pk, "error": delivery.last_error})
    return delivery


# The task opens its own short scopes (atomic_scope=False): a retry must not roll back the
# attempt it records, and the HTTP or SMTP exchange must not hold a transaction open.
@shared_task(
    name="deployments.deliver_alert",
    atomic_scope=False,
    ignore_result=True,
    bind=True,
    soft_time_limit=90,
    time_limit=120,
)
def deliver_alert(self, delivery_id: int) -> str:
    delivery = attempt_delivery(delivery_id)
    if delivery is None:
        return "gone"
    if delivery.state == AlertDelivery.State.PENDING:
        # Attempts are counted on the row, not by Celery: max_retries=None leaves that to us.
        raise self.retry(countdown=_retry_delay(delivery.attempts), max_retries=None)
    return delivery.state


@shared_task(
    name="deployments.send_test_alert", atomic_scope=False, ignore_result=True, soft_time_limit=90, time_limit=120
)
def send_test_alert(channel_id: int, user_id: int | None = None, user_label: str = "") -> str:
    """The channel page's "send test": one attempt, its outcome written to the audit log."""
    from deployments.alert_channels import DeliveryError, send
    from tenants import audit

    with system_scope():
        channel = AlertChannel.objects.select_related("tenant").filter(pk=channel_id).first()
    if channel is None:
        return "gone"
    alert = Alert(
        tenant=channel.tenant,
        kind="test",
        severity=Alert.Severity.WARNING,
        title=f"Test alert for {channel.name}",
        body="This is a test from the patch portal. If you can read it, alerts reach this channel.",
        link=reverse("alert_list"),
        dedupe_key="test",
        created_at=timezone.now(),
    )
    try:
        send(channel, alert)
        outcome = "sent"
    except DeliveryError as error:
        outcome = f"failed: {error}"[:2000]
    actor = audit.Actor(user_id, user_label or "system", "ui" if user_id else "system")
    with audit.acting_as(actor):
        audit.record("alert_channel.test", channel, message=outcome)
    return outcome


# Sources outside deployments -------------------------------------------------------------


def _on_feed_failed(sender, run, source=None, **kwargs) -> None:
    """One alert per failing source per day (UTC); manual imports report to whoever ran them."""
    if source is None:
        return
    day = (run.finished_at or timezone.now()).date().isoformat()
    raise_alert(
        AlertKind.FEED_FAILED,
        title=f"Feed {source.name} failed to sync",
        body=run.error or "The run failed without a message.",
        link=reverse("feed_status"),
        dedupe_key=f"feed:{source.pk}:{day}",
        severity=Alert.Severity.WARNING,
        now=run.finished_at,
    )


def _on_kev_findings_opened(sender, now, tenants: dict, **kwargs) -> None:
    """One alert per tenant per day (in the tenant's time zone) with the count and top hosts."""
    from tenants.models import Tenant

    with system_scope():
        by_id = {t.pk: t for t in Tenant.objects.filter(pk__in=list(tenants))}
    for tenant_id, summary in sorted(tenants.items()):
        tenant = by_id.get(tenant_id)
        if tenant is None:
            continue
        day = timezone.localtime(now, tenant.time_zone).date().isoformat()
        count, devices, hosts = summary["findings"], summary["devices"], summary.get("hosts") or []
        more = devices - len(hosts)
        body = f"Hosts: {', '.join(hosts)}" + (f" and {more} more." if more > 0 else ".")
        raise_alert(
            AlertKind.KEV_FINDING,
            tenant=tenant,
            title=(
                f"{tenant.name}: {count} new finding{'s' if count != 1 else ''} of actively exploited "
                f"vulnerabilities (CISA KEV) on {devices} device{'s' if devices != 1 else ''}"
            ),
            body=body,
            link=reverse("finding_list", kwargs={"tenant_slug": tenant.slug}) + "?kev=true&state=open",
            dedupe_key=f"kev:{tenant_id}:{day}",
            severity=Alert.Severity.CRITICAL,
            now=now,
        )


_registered = False


def register() -> None:
    """Capabilities, navigation and the two outside sources; called from deployments/apps.py ready()."""
    global _registered
    from advisories.signals import feed_failed
    from patches.signals import kev_findings_opened
    from tenants import extensions as ext
    from tenants.roles import ROLE_SETS, register_capabilities

    feed_failed.connect(_on_feed_failed, dispatch_uid="deployments.alerts.feed_failed")
    kev_findings_opened.connect(_on_kev_findings_opened, dispatch_uid="deployments.alerts.kev")
    register_capabilities({"alert.view": ROLE_SETS["staff"], "alert.manage": ROLE_SETS["admin"]})
    if _registered:
        return
    _registered = True
    # The channels page is linked from the alerts page (for MSP admins).
    ext.NAV_ITEMS.append(ext.NavItem("Alerts", "alert_list", capability="alert.view", staff_only=True))
