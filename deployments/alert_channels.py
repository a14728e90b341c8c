"""How an alert reaches a channel: e-mail, a generic JSON webhook, Slack, Microsoft Teams.

`send(channel, alert)` makes one attempt and raises `DeliveryError` with a readable reason
when it fails; retrying is the caller's business (deployments.alerts.deliver_alert).

Webhooks: only http(s) URLs, a timeout, any status outside 2xx is a failure, and a redirect
is followed only to the same host (http may upgrade to https, never the reverse), so a
receiver cannot bounce the portal's requests elsewhere.
"""

from __future__ import annotations

import json
import smtplib
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.urls import reverse

from deployments.models import Alert, AlertChannel

__all__ = [
    "DeliveryError",
    "alert_url",
    "email_addresses",
    "post_json",
    "send",
    "slack_payload",
    "teams_payload",
    "validate_webhook_url",
    "webhook_payload",
]

TIMEOUT_SECONDS = 10
MAX_REDIRECTS = 3
USER_AGENT = "patch-portal-alerts/1"
SEVERITY_COLOURS = {"critical": "attention", "warning": "warning"}  # Adaptive Card colours
SEVERITY_EMOJI = {"critical": ":rotating_light:", "warning": ":warning:"}


class DeliveryError(Exception):
    """One attempt failed; the message says why (stored on the delivery)."""


# What every channel says ------------------------------------------------------------------


def alert_url(alert: Alert) -> str:
    path = alert.link if alert.link.startswith("/") else reverse("alert_list")
    return settings.SITE_URL + path


def _tenant_label(alert: Alert) -> str:
    return alert.tenant.name if alert.tenant_id else "All clients (MSP-wide)"


def _kind_label(alert: Alert) -> str:
    return alert.get_kind_display() if alert.kind != "test" else "Test"


def webhook_payload(alert: Alert) -> dict:
    return {
        "kind": alert.kind,
        "severity": alert.severity,
        "title": alert.title,
        "body": alert.body,
        "url": alert_url(alert),
        "tenant": {"slug": alert.tenant.slug, "name": alert.tenant.name} if alert.tenant_id else None,
        "created_at": alert.created_at.isoformat(),
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(alert: Alert) -> dict:
    """An incoming-webhook message: `text` for notifications, blocks for the channel."""
    emoji = SEVERITY_EMOJI.get(alert.severity, ":bell:")
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": _clip(alert.title, 150), "emoji": True}}]
    if alert.body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(alert.body, 3000)}})
    blocks += [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _clip(
                        f"{emoji} *{alert.get_severity_display()}* · {_kind_label(alert)} · {_tenant_label(alert)}",
                        3000,
                    ),
                }
            ],
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open in the portal"},
                    "url": alert_url(alert),
                    "action_id": "open_alert",
                }
            ],
        },
    ]
    return {"text": _clip(f"{emoji} {alert.title}", 3000), "blocks": blocks}


def teams_payload(alert: Alert) -> dict:
    """A message with one Adaptive Card (1.4), as Teams incoming webhooks and workflows take it."""
    body = [
        {
            "type": "TextBlock",
            "text": alert.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": SEVERITY_COLOURS.get(alert.severity, "default"),
        }
    ]
    if alert.body:
        body.append({"type": "TextBlock", "text": alert.body, "wrap": True})
    body.append(
        {
            "type": "FactSet",
            "facts": [
                {"title": "Severity", "value": alert.get_severity_display()},
                {"title": "Kind", "value": _kind_label(alert)},
                {"title": "Client", "value": _tenant_label(alert)},
                {"title": "Raised", "value": alert.created_at.strftime("%Y-%m-%d %H:%M UTC")},
            ],
        }
    )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": "Open in the portal", "url": alert_url(alert)}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


# Transports ---------------------------------------------------------------------------------


def email_addresses(target: str) -> list[str]:
    """The comma- (or semicolon-) separated addresses of an e-mail channel; ValidationError if one is bad."""
    addresses = [a.strip() for a in target.replace(";", ",").split(",") if a.strip()]
    if not addresses:
        raise ValidationError("Give at least one e-mail address.")
    for address in addresses:
        validate_email(address)
    return addresses


def validate_webhook_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Give an http:// or https:// URL.")
    return url.strip()


def _send_email(channel: AlertChannel, alert: Alert) -> None:
    try:
        to = email_addresses(channel.target)
    except ValidationError as error:
        raise DeliveryError(f"bad address list: {'; '.join(error.messages)}") from None
    context = {
        "alert": alert,
        "url": alert_url(alert),
        "tenant_label": _tenant_label(alert),
        "kind": _kind_label(alert),
    }
    subject = " ".join(render_to_string("emails/alert_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject, render_to_string("emails/alert.txt", context), settings.DEFAULT_FROM_EMAIL, to
    )
    message.attach_alternative(render_to_string("emails/alert.html", context), "text/html")
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}") from None


def _same_host_or_upgrade(current: str, target: str) -> bool:
    a, b = urlsplit(current), urlsplit(target)
    if b.scheme not in ("http", "https") or a.hostname != b.hostname:
        return False
    if a.scheme == "https" and b.scheme == "http":
        return False
    default = {"http": 80, "https": 443}
    same_port = (a.port or default[a.scheme]) == (b.port or default[b.scheme])
    return same_port or (a.scheme, b.scheme) == ("http", "https")


def post_json(url: str, payload: dict, *, timeout: float = TIMEOUT_SECONDS) -> int:
    """POST `payload` as JSON; returns the 2xx status or raises DeliveryError."""
    try:
        current = validate_webhook_url(url)
    except ValidationError:
        raise DeliveryError(f"not an http(s) URL: {url[:200]}") from None
    data = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    with requests.Session() as session:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = session.post(current, data=data, headers=headers, timeout=timeout, allow_redirects=False)
            except requests.RequestException as error:
                raise DeliveryError(f"{type(error).__name__}: {error}") from None
            status = response.status_code
            if 200 <= status < 300:
                return status
            location = response.headers.get("Location")
            if 300 <= status < 400 and location:
                target = urljoin(current, location)
                if not _same_host_or_upgrade(current, target):
                    raise DeliveryError(f"HTTP {status}: redirect to another host refused ({target[:200]})")
                current = target
                continue
            raise DeliveryError(f"HTTP {status}: {response.text[:300].strip()}")
    raise DeliveryError(f"more than {MAX_REDIRECTS} redirects")


SENDERS = {
    AlertChannel.Kind.WEBHOOK: webhook_payload,
    AlertChannel.Kind.SLACK: slack_payload,
    AlertChannel.Kind.TEAMS: teams_payload,
}


def send(channel: AlertChannel, alert: Alert) -> None:
    if channel.kind == AlertChannel.Kind.EMAIL:
        _send_email(channel, alert)
        return
    build = SENDERS.get(channel.kind)
    if build is None:
        raise DeliveryError(f"unknown channel kind {channel.kind!r}")
    post_json(channel.target, build(alert))
