"""Alerts: raised once per key, routed to the channels that want them, delivered for real.

E-mail goes to a real SMTP server on loopback through a real Celery worker; webhooks, Slack
and Teams post to an HTTP server started here; the two outside sources (a feed that failed,
new KEV findings) run through the real ingest and matching code.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from advisories.ingest import sync_source
from advisories.models import FeedRun, FeedSource, KevEntry
from deployments import alerts
from deployments.alert_channels import DeliveryError, post_json
from deployments.alerts import attempt_delivery, raise_alert
from deployments.models import Alert, AlertChannel, AlertDelivery, AlertKind
from devices.inventory import apply_inventory
from patches.matching import engine
from tests.factories import DeviceFactory
from tests.patches.test_matching import osv, pkg, publish

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _registered():
    alerts.register()  # idempotent; deployments/apps.py ready() calls it in the running portal


class Hooks:
    """What the local webhook server received, and what it answers."""

    def __init__(self):
        self.requests: list[dict] = []
        self.responses: list[tuple[int, dict]] = []  # consumed in order; then 200
        self.base = ""

    def answer(self, status: int, **headers):
        self.responses.append((status, headers))

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests


@pytest.fixture
def hooks():
    state = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            state.requests.append(
                {"path": self.path, "content_type": self.headers.get("Content-Type"), "json": json.loads(raw)}
            )
            status, headers = state.responses.pop(0) if state.responses else (200, {})
            body = b"boom" if status >= 500 else b"ok"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def channel(name, kind="webhook", target="http://127.0.0.1:9/", tenant=None, kinds=(), enabled=True):
    return AlertChannel.objects.create(
        name=name, kind=kind, target=target, tenant=tenant, kinds=list(kinds), enabled=enabled
    )


def delivered_to(alert):
    return sorted(alert.deliveries.values_list("channel__name", flat=True))


# Raising and routing --------------------------------------------------------------------------


def test_a_dedupe_key_raises_one_alert(world):
    first = raise_alert(AlertKind.HEALTH_FAILED, tenant=world.tenant_a, title="web-1 unhealthy", dedupe_key="h:1")
    again = raise_alert(AlertKind.HEALTH_FAILED, tenant=world.tenant_a, title="web-1 still", dedupe_key="h:1")
    assert first is not None and again is None
    assert Alert.objects.get(dedupe_key="h:1").title == "web-1 unhealthy"


def test_channels_are_chosen_by_kind_and_tenant(world):
    channel("MSP all")
    channel("MSP health only", kinds=[AlertKind.HEALTH_FAILED])
    channel("Alpha", tenant=world.tenant_a)
    channel("Bravo", tenant=world.tenant_b)
    channel("Alpha KEV", tenant=world.tenant_a, kinds=[AlertKind.KEV_FINDING, AlertKind.FEED_FAILED])
    channel("Off", enabled=False)

    kev_a = raise_alert(AlertKind.KEV_FINDING, tenant=world.tenant_a, title="KEV", dedupe_key="k:a")
    health_b = raise_alert(AlertKind.HEALTH_FAILED, tenant=world.tenant_b.pk, title="health", dedupe_key="h:b")
    feed = raise_alert(AlertKind.FEED_FAILED, title="feed", dedupe_key="f:1")

    assert delivered_to(kev_a) == ["Alpha", "Alpha KEV", "MSP all"]
    assert delivered_to(health_b) == ["Bravo", "MSP all", "MSP health only"]
    assert delivered_to(feed) == ["MSP all"]  # a tenant's channel never gets MSP-wide alerts
    assert set(AlertDelivery.objects.values_list("state", flat=True)) == {"pending"}
    assert AlertDelivery.objects.get(alert=kev_a, channel__name="Alpha").tenant_id == world.tenant_a.pk


def test_deliveries_start_only_when_the_transaction_commits(world, django_capture_on_commit_callbacks):
    channel("MSP all")
    with django_capture_on_commit_callbacks() as callbacks:
        raise_alert(AlertKind.DEPLOYMENT_HALTED, tenant=world.tenant_a, title="halted", dedupe_key="d:1")
        raise_alert(AlertKind.DEPLOYMENT_HALTED, tenant=world.tenant_a, title="halted", dedupe_key="d:1")
    assert len(callbacks) == 1  # the duplicate queued nothing


def test_an_alert_raised_in_a_tenant_scope_reaches_msp_wide_channels(world):
    from portal.db_scope import tenant_scope

    channel("MSP all")
    with tenant_scope([world.tenant_a.pk]):
        alert = raise_alert(AlertKind.HEALTH_FAILED, tenant=world.tenant_a, title="x", dedupe_key="scoped")
    assert delivered_to(alert) == ["MSP all"]


def test_an_unknown_kind_is_refused(world):
    with pytest.raises(ValueError):
        raise_alert("nonsense", title="x", dedupe_key="n")


# Webhook, Slack and Teams payloads ----------------------------------------------------------------


def _deliver_one(world, kind, target, *, alert_kind=AlertKind.DEPLOYMENT_HALTED, severity="critical"):
    channel("hook", kind=kind, target=target)
    alert = raise_alert(
        alert_kind,
        tenant=world.tenant_a,
        title="Deployment “May patches” halted in ring Pilot",
        body="3 of 10 devices failed (30%), above the 20% halt threshold.",
        link="/t/alpha/deployments/7/",
        dedupe_key=f"{kind}:1",
        severity=severity,
        now=NOW,
    )
    return attempt_delivery(alert.deliveries.get().pk)


def test_the_generic_webhook_posts_the_alert_as_json(world, hooks, settings):
    settings.SITE_URL = "https://portal.msp.test"
    delivery = _deliver_one(world, "webhook", hooks.base + "/hook")
    (request,) = hooks.requests
    assert request["path"] == "/hook" and request["content_type"] == "application/json"
    assert request["json"] == {
        "kind": "deployment_halted",
        "severity": "critical",
        "title": "Deployment “May patches” halted in ring Pilot",
        "body": "3 of 10 devices failed (30%), above the 20% halt threshold.",
        "url": "https://portal.msp.test/t/alpha/deployments/7/",
        "tenant": {"slug": "alpha", "name": "Alpha Dental"},
        "created_at": "2026-11-21T12:00:00+00:00",
    }
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("sent", 1, "")
    assert delivery.sent_at is not None


def test_slack_gets_text_and_blocks(world, hooks, settings):
    settings.SITE_URL = "https://portal.msp.test"
    _deliver_one(world, "slack", hooks.base + "/services/T000/B000/XXXX")
    payload = hooks.requests[0]["json"]
    assert set(payload) == {"text", "blocks"}
    assert "halted in ring Pilot" in payload["text"]
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "context", "actions"]
    header, section, context, actions = payload["blocks"]
    assert header["text"]["type"] == "plain_text" and len(header["text"]["text"]) <= 150
    assert section["text"] == {"type": "mrkdwn", "text": "3 of 10 devices failed (30%), above the 20% halt threshold."}
    assert "Critical" in context["elements"][0]["text"] and "Alpha Dental" in context["elements"][0]["text"]
    (button,) = actions["elements"]
    assert button["type"] == "button" and button["url"] == "https://portal.msp.test/t/alpha/deployments/7/"


def test_teams_gets_an_adaptive_card(world, hooks, settings):
    settings.SITE_URL = "https://portal.msp.test"
    _deliver_one(world, "teams", hooks.base + "/workflows/abc")
    payload = hooks.requests[0]["json"]
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title, body, facts = card["body"]
    assert title["type"] == "TextBlock" and "halted in ring Pilot" in title["text"] and title["wrap"] is True
    assert body["text"].startswith("3 of 10 devices failed")
    assert facts["type"] == "FactSet" and {"title": "Client", "value": "Alpha Dental"} in facts["facts"]
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open in the portal",
            "url": "https://portal.msp.test/t/alpha/deployments/7/",
        }
    ]


def test_an_msp_wide_alert_has_no_tenant_in_the_payload(hooks):
    channel("hook", target=hooks.base + "/")
    alert = raise_alert(AlertKind.FEED_FAILED, title="Feed KEV failed", dedupe_key="feed:x", link="/feeds/")
    attempt_delivery(alert.deliveries.get().pk)
    assert hooks.requests[0]["json"]["tenant"] is None


def test_a_failed_attempt_is_recorded_and_left_for_the_retry(world, hooks):
    hooks.answer(500)
    delivery = _deliver_one(world, "webhook", hooks.base + "/hook")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert delivery.last_error == "HTTP 500: boom"


def test_a_redirect_is_followed_on_the_same_host_only(hooks):
    hooks.answer(307, Location="/moved")
    assert post_json(hooks.base + "/hook", {"a": 1}) == 200
    assert [r["path"] for r in hooks.requests] == ["/hook", "/moved"]

    hooks.answer(302, Location="http://attacker.example/collect")
    with pytest.raises(DeliveryError, match="redirect to another host refused"):
        post_json(hooks.base + "/hook", {"a": 1})
    assert len(hooks.requests) == 3  # the other host was never contacted from here


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.test/x", "gopher://x", "not a url"])
def test_only_http_urls_are_posted_to(url):
    with pytest.raises(DeliveryError, match="not an http"):
        post_json(url, {})


def test_an_unreachable_webhook_is_a_failure():
    from tests.fixtures.mail import free_port

    with pytest.raises(DeliveryError, match="ConnectionError"):
        post_json(f"http://127.0.0.1:{free_port()}/", {}, timeout=2)


# Through a real worker -----------------------------------------------------------------------------


def _wait_for_state(delivery_id, states, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery = AlertDelivery.objects.get(pk=delivery_id)
        if delivery.state in states:
            return delivery
        time.sleep(0.1)
    return AlertDelivery.objects.get(pk=delivery_id)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_email_reaches_the_addresses_through_the_worker(world, smtp_server, celery_worker, settings):
    settings.SITE_URL = "https://portal.msp.test"
    channel("On call", kind="email", target="oncall@msp.test, lead@msp.test")
    with transaction.atomic():
        alert = raise_alert(
            AlertKind.HEALTH_FAILED,
            tenant=world.tenant_a,
            title="alpha-web-1 failed its health check after updating",
            body="The service nginx did not come back within 30 minutes.",
            link="/t/alpha/devices/1/",
            dedupe_key="health:alpha-web-1",
            severity="critical",
        )
    (message,) = smtp_server.wait_for(1, timeout=20)
    assert message["X-Envelope-To"] == "oncall@msp.test, lead@msp.test"
    assert message["Subject"] == "[Critical] alpha-web-1 failed its health check after updating"
    text = message.get_body(("plain",)).get_content()
    assert "nginx did not come back" in text and "https://portal.msp.test/t/alpha/devices/1/" in text
    html = message.get_body(("html",)).get_content()
    assert 'href="https://portal.msp.test/t/alpha/devices/1/"' in html
    delivery = _wait_for_state(alert.deliveries.get().pk, {"sent", "failed"})
    assert (delivery.state, delivery.attempts) == ("sent", 1)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_failing_webhook_is_retried_then_marked_failed(world, hooks, celery_worker, settings):
    settings.ALERT_DELIVERY_ATTEMPTS = 3
    settings.ALERT_RETRY_DELAY_SECONDS = 0.2  # 0.2 s, 0.4 s: the back-off, shortened
    for _ in range(5):
        hooks.answer(500)
    channel("Webhook", target=hooks.base + "/hook")
    with transaction.atomic():
        alert = raise_alert(AlertKind.DEPLOYMENT_FAILED, tenant=world.tenant_a, title="failed", dedupe_key="df:1")
    delivery = _wait_for_state(alert.deliveries.get().pk, {"sent", "failed"})
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("failed", 3, "HTTP 500: boom")
    time.sleep(0.5)
    assert len(hooks.requests) == 3  # no attempt after the last


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_webhook_that_recovers_is_sent_on_the_retry(world, hooks, celery_worker, settings):
    settings.ALERT_RETRY_DELAY_SECONDS = 0.2
    hooks.answer(503)
    channel("Webhook", target=hooks.base + "/hook")
    with transaction.atomic():
        alert = raise_alert(AlertKind.DEPLOYMENT_FAILED, tenant=world.tenant_a, title="failed", dedupe_key="df:2")
    delivery = _wait_for_state(alert.deliveries.get().pk, {"sent", "failed"})
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("sent", 2, "")


# The sources outside deployments ---------------------------------------------------------------------


def test_a_failing_feed_raises_one_alert_a_day(tmp_path):
    channel("MSP all")
    source = FeedSource.objects.create(name="Debian DSAs", kind="osv", url=str(tmp_path / "missing.zip"))
    first = sync_source(source)
    second = sync_source(source)
    assert (first.status, second.status) == (FeedRun.Status.FAILED, FeedRun.Status.FAILED)
    (alert,) = Alert.objects.filter(kind=AlertKind.FEED_FAILED)
    assert alert.tenant_id is None and alert.title == "Feed Debian DSAs failed to sync"
    assert "no such file or folder" in alert.body and alert.link == "/feeds/"
    assert delivered_to(alert) == ["MSP all"]


def test_a_manual_import_that_fails_raises_nothing(tmp_path):
    from advisories.ingest import ingest

    assert ingest("osv", str(tmp_path / "missing.zip")).status == FeedRun.Status.FAILED
    assert not Alert.objects.exists()


def _kev_alerts():
    return list(Alert.objects.filter(kind=AlertKind.KEV_FINDING).order_by("tenant_id"))


def test_new_kev_findings_raise_one_alert_per_tenant_per_day(world, django_capture_on_commit_callbacks):
    KevEntry.objects.create(cve_id="CVE-2099-0001", date_added=dt.date(2026, 11, 1))
    with django_capture_on_commit_callbacks(execute=True):
        publish(osv("DSA-9001-1", "openssl", "3.0.15-1~deb12u1"))
    for tenant, hosts in [(world.tenant_a, ["a-web", "a-db"]), (world.tenant_b, ["b-web"])]:
        for hostname in hosts:
            device = DeviceFactory(tenant=tenant, hostname=hostname)
            apply_inventory(device, "dpkg", [pkg("libssl3", "3.0.14-1~deb12u2", "openssl")])
            with django_capture_on_commit_callbacks(execute=True):
                engine.match_devices([device.pk], now=NOW)
    alpha, bravo = _kev_alerts()
    assert alpha.tenant == world.tenant_a and alpha.severity == "critical"
    assert alpha.dedupe_key == f"kev:{world.tenant_a.pk}:2026-11-21"
    assert "1 new finding" in alpha.title and "a-web" in alpha.body  # the first device; a-db fell on the same key
    assert alpha.link == "/t/alpha/findings/?kev=true&state=open"
    assert bravo.tenant == world.tenant_b and "b-web" in bravo.body


def test_a_cve_joining_kev_raises_the_alert_with_its_hosts(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        publish(osv("DSA-9001-1", "openssl", "3.0.15-1~deb12u1"))
        for hostname in ("a-web", "a-db", "a-mail"):
            device = DeviceFactory(tenant=world.tenant_a, hostname=hostname)
            apply_inventory(device, "dpkg", [pkg("libssl3", "3.0.14-1~deb12u2", "openssl")])
            engine.match_devices([device.pk], now=NOW)
    assert _kev_alerts() == []  # not in KEV yet
    KevEntry.objects.create(cve_id="CVE-2099-0001", date_added=dt.date(2026, 11, 20))
    with django_capture_on_commit_callbacks(execute=True):
        engine.match_intel(["CVE-2099-0001"], now=NOW)
    (alert,) = _kev_alerts()
    assert alert.title.startswith("Alpha Dental: 3 new findings") and "on 3 devices" in alert.title
    assert alert.body == "Hosts: a-db, a-mail, a-web."
    with django_capture_on_commit_callbacks(execute=True):
        engine.match_intel(["CVE-2099-0001"], now=NOW)  # nothing newly open: nothing sent
    assert len(_kev_alerts()) == 1


# The pages ------------------------------------------------------------------------------------------


def test_acknowledging_with_htmx_answers_the_row_and_is_audited(client, world):
    from tenants.models import AuditEntry
    from tests.fixtures.personas import sign_in

    msp_wide = raise_alert(AlertKind.FEED_FAILED, title="Feed KEV failed to sync", dedupe_key="feed")
    sign_in(client, world.tech_a)  # a technician of one tenant may acknowledge the MSP-wide alerts too
    response = client.post(f"/alerts/{msp_wide.pk}/acknowledge/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="alert-{msp_wide.pk}">') and "Acknowledged by" in html
    msp_wide.refresh_from_db()
    assert msp_wide.acknowledged_by == world.tech_a and msp_wide.acknowledged_at is not None
    (entry,) = AuditEntry.objects.filter(action="alert.acknowledge")
    assert (entry.actor_id, entry.object_id, entry.tenant_id) == (world.tech_a.pk, str(msp_wide.pk), None)
    # Twice changes nothing and logs nothing more.
    client.post(f"/alerts/{msp_wide.pk}/acknowledge/", HTTP_HX_REQUEST="true")
    assert AuditEntry.objects.filter(action="alert.acknowledge").count() == 1
    assert "Feed KEV failed to sync" not in client.get("/alerts/").content.decode()  # open only
    assert "Feed KEV failed to sync" in client.get("/alerts/?show=all").content.decode()


def test_the_alert_list_shows_delivery_outcomes_and_the_nav_links_it(client, world):
    from tests.fixtures.personas import sign_in

    channel("Hook", target="http://127.0.0.1:9/")
    alert = raise_alert(AlertKind.HEALTH_FAILED, tenant=world.tenant_a, title="alpha-web-1 unhealthy", dedupe_key="h")
    AlertDelivery.objects.filter(alert=alert).update(state="failed", attempts=6, last_error="HTTP 500")
    sign_in(client, world.tech_all)
    page = client.get("/alerts/").content.decode()
    assert "1 failed" in page and 'href="/alerts/"' in page
    assert "Alert channels" not in page  # admins only
    sign_in(client, world.msp_admin)
    assert "Alert channels" in client.get("/alerts/").content.decode()


def test_an_admin_adds_a_channel_and_the_target_stays_out_of_the_audit_log(client, world):
    from tenants.models import AuditEntry
    from tests.fixtures.personas import sign_in

    sign_in(client, world.msp_admin)
    response = client.post(
        "/alerts/channels/new/",
        {
            "name": "Alpha Teams",
            "tenant": world.tenant_a.pk,
            "kind": "teams",
            "target": " https://alpha.webhook.office.com/webhookb2/secret ",
            "kinds": ["health_failed", "deployment_halted"],
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    saved = AlertChannel.objects.get(name="Alpha Teams")
    assert (saved.tenant, saved.target, saved.kinds) == (
        world.tenant_a,
        "https://alpha.webhook.office.com/webhookb2/secret",
        ["health_failed", "deployment_halted"],
    )
    entry = AuditEntry.objects.get(action="create", object_type="deployments.alertchannel")
    assert "target" not in entry.changes and "secret" not in json.dumps(entry.changes)


@pytest.mark.parametrize(
    ("kind", "target", "error"),
    [
        ("slack", "ftp://hooks.slack.com/x", "http:// or https://"),
        ("email", "ops@msp.test, not-an-address", "valid email"),
    ],
)
def test_a_bad_target_is_refused(client, world, kind, target, error):
    from tests.fixtures.personas import sign_in

    sign_in(client, world.msp_admin)
    response = client.post("/alerts/channels/new/", {"name": "x", "kind": kind, "target": target, "enabled": "on"})
    assert response.status_code == 400 and error in response.content.decode()
    assert not AlertChannel.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_send_test_posts_through_the_worker_and_shows_the_outcome(client, world, hooks, celery_worker):
    from tenants.models import AuditEntry
    from tests.fixtures.personas import sign_in

    hook = channel("Slack ops", kind="slack", target=hooks.base + "/services/x")
    sign_in(client, world.msp_admin)
    assert client.post(f"/alerts/channels/{hook.pk}/test/").status_code == 302
    (request,) = hooks.wait_for(1)
    assert request["json"]["text"].endswith("Test alert for Slack ops")
    deadline = time.monotonic() + 10
    while not AuditEntry.objects.filter(action="alert_channel.test").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    entry = AuditEntry.objects.get(action="alert_channel.test")
    assert (entry.message, entry.actor_id, entry.object_id) == ("sent", world.msp_admin.pk, str(hook.pk))
    assert '<span class="badge ok">sent</span>' in client.get("/alerts/channels/").content.decode()
    assert not Alert.objects.exists()  # a test is not an alert
