"""Feed URLs that misbehave: one hangs, one breaks off half-way, one answers garbage.

Beat's `sync_due_feeds` runs on a real worker and starts one sync task per source. Each bad
source fails on its own within its timeout, with the reason on its run, on the source and
in a "feed failed" alert, and stores nothing of what it half-read; the good source beside
them lands in full.
"""

from __future__ import annotations

import socket
import threading

import pytest
from django.urls import reverse

from advisories.feeds import locations
from advisories.models import Advisory, FeedRun, FeedSource, KevEntry
from advisories.tasks import sync_due_feeds
from deployments.models import Alert, AlertKind
from tests.fixtures.feed_server import Reply
from tests.fixtures.personas import sign_in
from tests.fixtures.worker_process import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

GOOD = "advisories/osv/debian12_from_dsa/DSA-5514-1.json"
HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"


class MisbehavingServer:
    """A loopback TCP server: /hang/… accepts and never answers; /cut/… sends half a body and closes."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed by stop()
                return
            request = conn.recv(65536)
            if b" /cut/" in request.split(b"\r\n", 1)[0]:
                conn.sendall(HEADERS + b'{"title": "CISA Catalog", "vulnerabilities": [{"cveID": "CVE-2024-')
                conn.close()
            else:
                self.held.append(conn)  # never answered

    def stop(self):
        self.stopped.set()
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def misbehaving():
    server = MisbehavingServer()
    yield server
    server.stop()


def test_hanging_broken_and_garbage_feeds_fail_clearly_and_the_good_one_lands(
    celery_worker, feed_server, misbehaving, monkeypatch, client, world
):
    # Production waits 10 s to connect and 120 s for each read; the test cannot wait that long.
    monkeypatch.setattr(locations, "TIMEOUT", (2, 2))
    hanging = FeedSource.objects.create(name="Hanging mirror", kind="osv", url=f"{misbehaving.base}/hang/all.zip")
    cut = FeedSource.objects.create(name="Cut-off KEV", kind="kev", url=f"{misbehaving.base}/cut/kev.json")
    garbage_url = feed_server.serve(
        "kev.json", Reply(200, b"<html><body>Service temporarily unavailable</body></html>")
    )
    garbage = FeedSource.objects.create(name="Captive portal KEV", kind="kev", url=garbage_url)
    good = FeedSource.objects.create(name="Debian OSV", kind="osv", url=feed_server.serve_file("dsa.json", GOOD))

    sync_due_feeds.delay()  # as beat sends it every minute
    # A run is saved first; its source's outcome and the alert follow it.
    wait_until(
        lambda: (
            FeedRun.objects.filter(finished_at__isnull=False).count() == 4
            and Alert.objects.filter(kind=AlertKind.FEED_FAILED).count() == 3
            and not FeedSource.objects.filter(last_attempt_at__isnull=True).exists()
        ),
        timeout=60,
        what="every source's sync to end",
    )

    runs = {run.source_id: run for run in FeedRun.objects.all()}
    assert runs[good.pk].status == FeedRun.Status.SUCCESS and runs[good.pk].added == 1
    assert Advisory.objects.filter(advisory_id="DSA-5514-1").exists()
    assert runs[hanging.pk].status == FeedRun.Status.FAILED and "Read timed out" in runs[hanging.pk].error
    assert runs[cut.pk].status == FeedRun.Status.FAILED and "broke off" in runs[cut.pk].error
    assert runs[garbage.pk].status == FeedRun.Status.FAILED and "not JSON" in runs[garbage.pk].error
    # Nothing of what the broken ones half-read was stored, and no cache validator was kept.
    assert not KevEntry.objects.exists()
    for source in (hanging, cut, garbage):
        source.refresh_from_db()
        assert source.last_error == runs[source.pk].error and not source.healthy
        assert (source.etag, source.last_modified, source.record_count) == ("", "", 0)
    good.refresh_from_db()
    assert good.healthy and good.etag and good.record_count == 1

    # The portal says so: an alert per failing source, and the feed page names each error.
    alerts = Alert.objects.filter(kind=AlertKind.FEED_FAILED)
    assert sorted(a.title for a in alerts) == sorted(f"Feed {s.name} failed to sync" for s in (hanging, cut, garbage))
    sign_in(client, world.msp_admin)
    html = client.get(reverse("feed_status")).content.decode()
    for source in (hanging, cut, garbage):
        assert f'{source.name} <span class="badge bad">failing</span>' in " ".join(html.split())
        assert source.last_error.split(":")[0] in html
    assert 'Debian OSV <span class="badge ok">healthy</span>' in " ".join(html.split())
