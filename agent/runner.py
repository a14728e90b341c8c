"""The check-in cycle, and the loop that repeats it until SIGTERM."""

from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

from . import health, protocol, sysinfo
from .backends import Backend, BackendError
from .config import Config
from .hashing import inventory_hash, updates_hash
from .jobs import JobRunner
from .logs import get_logger
from .schedule import Backoff, jittered
from .state import State
from .transport import (
    AuthError,
    ForbiddenError,
    PayloadTooLarge,
    PortalClient,
    PortalError,
    RequestRejected,
    TransientError,
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REENROLL = 3

log = get_logger("runner")


class NotEnrolled(Exception):
    """No device token (or no server) yet: ``enroll`` has to run first."""


@dataclass
class UpdatesScan:
    updates: list[dict[str, object]]
    digest: str
    scanned_at: float


@dataclass
class Snapshot:
    """What one check-in reports: its body and the data behind the two hashes."""

    body: dict[str, object]
    packages: list[dict[str, str]]
    inventory_hash: str
    scan: UpdatesScan | None


@dataclass
class CycleResult:
    checkin_interval: int
    inventory_status: str | None = None
    updates_status: str | None = None
    jobs: int = 0


class Agent:
    def __init__(
        self,
        config: Config,
        state: State,
        backend: Backend,
        client: PortalClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self.state = state
        self.backend = backend
        self.clock = clock
        self.client = client or self._client_from_state()
        self._scan: UpdatesScan | None = None
        self.interval = config.interval
        self.jobs = JobRunner(
            self.client, state, backend, dry_run=config.dry_run, health_services=config.health_services
        )
        self._health_at: float | None = None

    def _client_from_state(self) -> PortalClient:
        token = self.state.load_token()
        device = self.state.load_device() or {}
        server = self.config.server or str(device.get("server") or "")
        if not token or not server:
            raise NotEnrolled(
                "this machine is not enrolled: run `python -m agent enroll --server URL --token TOKEN` first"
            )
        return PortalClient(server, token, self.config.timeout, self.config.verify_tls, self.config.ca_file)

    # --- what this machine looks like now ---------------------------------------------------

    def collect_inventory(self) -> tuple[list[dict[str, str]], str]:
        packages = self.backend.inventory()
        return packages, inventory_hash(self.backend.inventory_format, packages)

    def current_updates(self) -> UpdatesScan | None:
        """The offered updates, rescanned at most every ``scan_interval`` seconds.

        A scan can take minutes (Windows Update) and touch the network (dnf metadata), so
        check-ins in between reuse the last result. When a rescan fails, the last good
        result stands in. With none at all there is no updates hash to report (None), never
        an empty list, which would tell the portal that every update disappeared.
        """
        now = self.clock()
        if self._scan is not None and now - self._scan.scanned_at < self.config.scan_interval:
            return self._scan
        try:
            updates = self.backend.updates()
        except BackendError as exc:
            if self._scan is None:
                log.error("update scan failed, checking in without updates: %s", exc)
            else:
                log.warning("update scan failed, reporting the previous scan: %s", exc)
            return self._scan
        self._scan = UpdatesScan(updates, updates_hash(updates), now)
        return self._scan

    # --- one cycle ---------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Everything a check-in reports; builds the body without contacting the portal."""
        packages, inventory_digest = self.collect_inventory()
        scan = self.current_updates()
        body = protocol.checkin_body(
            hostname=self.backend.identity().get("hostname") or socket.gethostname(),
            inventory_hash=inventory_digest,
            updates_hash=scan.digest if scan else None,
            reboot_required=self.backend.reboot_required(),
            uptime_seconds=sysinfo.uptime_seconds(),
        )
        return Snapshot(body, packages, inventory_digest, scan)

    def cycle(self) -> CycleResult:
        snapshot = self.snapshot()
        answer = self.client.post("checkin", snapshot.body)
        self.interval = protocol.checkin_interval(answer, self.interval)
        result = CycleResult(checkin_interval=self.interval)
        if answer.get("send_inventory"):
            fmt, digest, packages = self.backend.inventory_format, snapshot.inventory_hash, snapshot.packages
            reply = protocol.upload_inventory(self.client, fmt, digest, packages)
            result.inventory_status = str(reply.get("status"))
            self.state.save_last_sent("inventory", digest)
            log.info("inventory %s (%d packages)%s", result.inventory_status, len(packages), _counts(reply))
        scan = snapshot.scan
        if answer.get("send_updates") and scan is None:
            log.warning("the portal asked for updates, but no update scan has succeeded yet")
        elif answer.get("send_updates") and scan is not None:
            reply = protocol.upload_updates(self.client, scan.digest, scan.updates)
            result.updates_status = str(reply.get("status"))
            self.state.save_last_sent("updates", scan.digest)
            log.info("updates %s (%d offered or installed)%s", result.updates_status, len(scan.updates), _counts(reply))
        # Results saved before a crash or a reboot go first; then the jobs that are due.
        self.jobs.post_pending()
        jobs = protocol.due_jobs(answer)
        if jobs:
            log.info("%d job(s) due", len(jobs))
            result.jobs = len(self.jobs.run_due())
        self.report_health_if_due()
        log.debug("check-in done, next in about %d s", self.interval)
        return result

    def report_health_if_due(self) -> None:
        """A health report every ``health_interval`` seconds (jobs send their own after them)."""
        if self.config.health_interval <= 0:
            return
        now = self.clock()
        if self._health_at is not None and now - self._health_at < self.config.health_interval:
            return
        self._health_at = now
        checks = health.run_checks(self.backend, self.config.health_services)
        health.report(self.client, checks)

    # --- the loop ----------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event, rng: random.Random = random) -> int:
        backoff = Backoff(self.config.jitter)
        log.info("agent started: backend %s, check-in every %d s", self.backend.name, self.interval)
        while not stop.is_set():
            try:
                self.cycle()
            except AuthError as exc:
                # Retrying cannot help and would only fill the portal's logs.
                log.error(
                    "%s. The device token is no longer valid: enrol again with "
                    "`python -m agent enroll --server URL --token TOKEN`. Stopping.",
                    exc,
                )
                return EXIT_REENROLL
            except TransientError as exc:
                delay = backoff.next_delay(exc.retry_after, rng)
                log.warning("%s; retrying in %.0f s", exc, delay)
            except ForbiddenError as exc:
                delay = backoff.next_delay(None, rng)
                log.error("%s; the tenant may be deactivated, retrying in %.0f s", exc, delay)
            except (RequestRejected, PayloadTooLarge, PortalError, BackendError) as exc:
                # The same data would be refused again at once: wait a whole interval.
                backoff.reset()
                delay = jittered(self.interval, self.config.jitter, rng)
                log.error("%s; next attempt in %.0f s", exc, delay)
            else:
                backoff.reset()
                delay = jittered(self.interval, self.config.jitter, rng)
            stop.wait(delay)
        log.info("agent stopped")
        return EXIT_OK


def _counts(reply: dict[str, object]) -> str:
    if reply.get("status") != "applied":
        return ""
    return " total {}, added {}, removed {}, changed {}".format(
        reply.get("total"), reply.get("added"), reply.get("removed"), reply.get("changed")
    )
