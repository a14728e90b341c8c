"""Running the portal's jobs: claim, install / roll back / reboot, report progress and results.

The result of a job is written to the state directory (``results/<job>.json``) with a
``result_key`` chosen once, before the first post; a post that fails, or an agent that
crashes or reboots before the portal answered, sends the same key again later, and the
portal records the result once (agent/PROTOCOL.md, "Jobs"). A job that reboots the machine
saves its result before the reboot and posts it when the agent runs again after it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

from . import health, sysinfo
from .backends import Backend, BackendError, InstallResult
from .logs import get_logger
from .scripts import ScriptRefused, run_signed_script
from .state import State, write_private_file
from .transport import PortalError, RequestRejected, TransientError

RESULTS_DIR = "results"
OUTPUT_LIMIT = 64 * 1024
# After a reboot was asked for, how long the result waits for the machine to come back up.
REBOOT_GRACE_SECONDS = 1800
# A boot time that moved by more than this means the machine has restarted.
BOOT_TOLERANCE_SECONDS = 120
MANAGERS = {"apt": ("dpkg", "simulated"), "dnf": ("rpm", "simulated")}

log = get_logger("jobs")


class LeaseLost(Exception):
    """The portal no longer lets this agent work on the job (409 or 404): stop it."""


@dataclass
class Outcome:
    succeeded: bool
    exit_code: int | None = None
    lines: list[str] = field(default_factory=list)
    reboot_required: bool = False

    def add(self, text: str) -> None:
        if text:
            self.lines.append(text.rstrip())

    @property
    def output(self) -> str:
        text = "\n".join(self.lines)
        return text[-OUTPUT_LIMIT:]


def boot_time() -> float:
    return time.time() - sysinfo.uptime_seconds()


def _describe(result: InstallResult) -> str:
    lines = [("(dry run) " if result.dry_run else "") + "$ " + " ".join(result.command)]
    for action in result.actions:
        name = action.get("name") or action.get("id") or action.get("kb") or ""
        versions = " -> ".join(str(v) for v in (action.get("from_version"), action.get("to_version")) if v)
        lines.append(f"  {action.get('action', '?')} {name} {versions}".rstrip())
    if result.output:
        lines.append(result.output)
    lines.append(f"exit code {result.returncode}")
    return "\n".join(lines)


class JobRunner:
    def __init__(
        self,
        client,
        state: State,
        backend: Backend,
        *,
        dry_run: bool = False,
        health_services: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
        boot: Callable[[], float] = boot_time,
    ):
        self.client = client
        self.state = state
        self.backend = backend
        self.dry_run = dry_run
        self.health_services = list(health_services)
        self.clock = clock
        self.boot = boot

    # --- the pending results in the state directory ---------------------------------------

    @property
    def results_dir(self) -> str:
        return os.path.join(self.state.directory, RESULTS_DIR)

    def _result_path(self, job_id: int) -> str:
        return os.path.join(self.results_dir, f"{int(job_id)}.json")

    def load_pending(self, job_id: int) -> dict | None:
        try:
            with open(self._result_path(job_id), encoding="utf-8") as handle:
                data = json.load(handle)
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def pending(self) -> list[dict]:
        try:
            names = sorted(os.listdir(self.results_dir))
        except FileNotFoundError:
            return []
        entries = []
        for name in names:
            if name.endswith(".json") and name[:-5].isdigit():
                entry = self.load_pending(int(name[:-5]))
                if entry is not None:
                    entries.append(entry)
        return entries

    def save_pending(self, entry: dict) -> None:
        self.state.ensure_directory()
        os.makedirs(self.results_dir, mode=0o700, exist_ok=True)
        write_private_file(self._result_path(entry["job"]), json.dumps(entry, indent=1, sort_keys=True) + "\n")

    def _drop_pending(self, job_id: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._result_path(job_id))

    # --- talking to the portal ------------------------------------------------------------

    def progress(self, job: Mapping[str, Any], state: str, message: str = "") -> None:
        body = {"lease_id": job["lease_id"], "state": state, "message": message[:10_000]}
        try:
            self.client.post(f"jobs/{int(job['id'])}/progress", body)
        except TransientError as exc:
            # The work goes on; the lease runs out only if the portal stays unreachable.
            log.warning("job %s: progress not reported: %s", job["id"], exc)
        except PortalError as exc:
            if exc.status in (404, 409):
                raise LeaseLost(str(exc)) from None
            raise

    def post_pending(self) -> int:
        """Post every saved result that is ready; returns how many the portal took."""
        posted = 0
        for entry in self.pending():
            if entry.get("await_reboot") and not self._reboot_over(entry):
                continue
            body = dict(entry["body"])
            if entry.get("await_reboot"):
                body["reboot_required"] = bool(self.backend.reboot_required())
            try:
                answer = self.client.post(f"jobs/{int(entry['job'])}/result", body)
            except TransientError as exc:
                log.warning("job %s: result not posted yet (%s); it is kept and sent again", entry["job"], exc)
                continue
            except RequestRejected as exc:
                log.error("job %s: the portal refused the result: %s", entry["job"], exc)
                self._drop_pending(entry["job"])
                continue
            except PortalError as exc:
                if exc.status not in (404, 409):
                    raise
                log.warning("job %s: result not taken: %s", entry["job"], exc)
                self._drop_pending(entry["job"])
                continue
            self._drop_pending(entry["job"])
            posted += 1
            log.info("job %s: result %s recorded, job %s", entry["job"], body["outcome"], answer.get("state"))
            self._report_health(entry)
        return posted

    def _reboot_over(self, entry: Mapping[str, Any]) -> bool:
        if self.boot() - float(entry.get("boot", 0)) > BOOT_TOLERANCE_SECONDS:
            return True
        if self.clock() - float(entry.get("saved_at", 0)) > REBOOT_GRACE_SECONDS:
            log.warning("job %s: the machine did not restart; reporting the result anyway", entry["job"])
            return True
        return False

    def _report_health(self, entry: Mapping[str, Any]) -> None:
        try:
            checks = health.run_checks(
                self.backend,
                [*self.health_services, *entry.get("health_services", [])],
                entry.get("health_script"),
                self.state.load_script_key(),
                dry_run=bool(entry.get("dry_run")),
            )
            health.report(self.client, checks, int(entry["job"]))
        except (PortalError, BackendError) as exc:
            log.warning("job %s: health not reported: %s", entry["job"], exc)

    # --- claiming and running -------------------------------------------------------------

    def run_due(self) -> list[dict]:
        """Post what is pending, claim what is due, run it; returns the claimed jobs."""
        self.post_pending()
        answer = self.client.post("jobs/claim", {})
        jobs = [job for job in answer.get("jobs") or [] if isinstance(job, dict)]
        for job in jobs:
            self.run(job)
        return jobs

    def run(self, job: Mapping[str, Any]) -> Outcome | None:
        job_id = int(job["id"])
        saved = self.load_pending(job_id)
        if saved is not None and saved.get("body", {}).get("lease_id") == job.get("lease_id"):
            self.post_pending()  # done already under this lease: only the result is missing
            return None
        dry_run = bool(job.get("dry_run")) or self.dry_run
        try:
            self.progress(job, "running", f"{job.get('kind')} started" + (" (dry run)" if dry_run else ""))
            with self._keepalive(job):
                outcome = self.execute(job, dry_run)
            reboot = self._reboot_wanted(job, outcome, dry_run)
            entry = self._entry(job, outcome, dry_run, await_reboot=reboot)
            self.save_pending(entry)
            if reboot:
                self.progress(job, "reboot_pending", "Restarting to finish the job.")
                result = self.backend.reboot(dry_run=False)
                if not result.succeeded:
                    outcome.add(_describe(result))
                    entry = self._entry(job, outcome, dry_run, await_reboot=False)
                    self.save_pending(entry)
                elif self.backend.name == "simulated":
                    entry["await_reboot"] = False  # a pretend reboot is over at once
                    self.save_pending(entry)
        except LeaseLost as exc:
            log.warning("job %s: abandoned, the portal took it back: %s", job_id, exc)
            return None
        self.post_pending()
        return outcome

    @contextlib.contextmanager
    def _keepalive(self, job: Mapping[str, Any]):
        """Report progress every third of the lease while a long step runs."""
        stop = threading.Event()
        interval = max(5.0, float(job.get("lease_seconds") or 600) / 3)

        def beat():
            while not stop.wait(interval):
                with contextlib.suppress(LeaseLost, PortalError):
                    self.progress(job, "running")

        thread = threading.Thread(target=beat, name=f"job-{job['id']}-keepalive", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(5)

    def _entry(self, job: Mapping[str, Any], outcome: Outcome, dry_run: bool, await_reboot: bool) -> dict:
        previous = self.load_pending(int(job["id"])) or {}
        same_lease = previous.get("body", {}).get("lease_id") == job["lease_id"]
        key = previous["body"]["result_key"] if same_lease else uuid.uuid4().hex
        payload = job.get("payload") or {}
        scripts = job.get("scripts") or {}
        return {
            "job": int(job["id"]),
            "saved_at": self.clock(),
            "boot": self.boot(),
            "await_reboot": await_reboot,
            "dry_run": dry_run,
            "health_services": list(payload.get("health_services") or []),
            "health_script": scripts.get("health"),
            "body": {
                "lease_id": job["lease_id"],
                "result_key": key,
                "outcome": "succeeded" if outcome.succeeded else "failed",
                "exit_code": outcome.exit_code,
                "output": outcome.output,
                "reboot_required": outcome.reboot_required,
            },
        }

    def _reboot_wanted(self, job: Mapping[str, Any], outcome: Outcome, dry_run: bool) -> bool:
        if not outcome.succeeded:
            return False
        rule = (job.get("payload") or {}).get("reboot") or "if_required"
        wanted = job.get("kind") == "reboot" or rule == "always" or (rule == "if_required" and outcome.reboot_required)
        if wanted and dry_run:
            outcome.add("dry run: would restart the machine now")
            return False
        return wanted

    # --- the steps --------------------------------------------------------------------------

    def execute(self, job: Mapping[str, Any], dry_run: bool) -> Outcome:
        outcome = Outcome(succeeded=True, exit_code=0)
        scripts = job.get("scripts") or {}
        try:
            if scripts.get("pre") and not self._script("pre-install script", scripts["pre"], dry_run, outcome):
                return outcome
            kind = job.get("kind")
            if kind in ("install", "rollback"):
                for label, items, action in self._work(job.get("payload") or {}, kind):
                    result = action(items, dry_run)
                    outcome.add(f"{label}:\n{_describe(result)}")
                    if not result.succeeded:
                        outcome.succeeded, outcome.exit_code = False, result.returncode
                        return outcome
            elif kind != "reboot":
                raise BackendError(f"this agent does not know jobs of kind {kind!r}")
            if scripts.get("post") and not self._script("post-install script", scripts["post"], dry_run, outcome):
                return outcome
        except BackendError as exc:
            outcome.add(f"error: {exc}")
            outcome.succeeded, outcome.exit_code = False, None
            return outcome
        outcome.reboot_required = kind == "reboot" or bool(self.backend.reboot_required())
        return outcome

    def _script(self, label: str, envelope: object, dry_run: bool, outcome: Outcome) -> bool:
        try:
            result = run_signed_script(envelope, self.state.load_script_key(), dry_run=dry_run)
        except ScriptRefused as exc:
            outcome.add(f"{label} refused: {exc}")
            outcome.succeeded, outcome.exit_code = False, None
            return False
        outcome.add(f"{label} {result.name} v{result.version}: {result.status}\n{result.output}".rstrip())
        if result.status in ("succeeded", "dry_run"):
            return True
        outcome.succeeded, outcome.exit_code = False, result.exit_code
        return False

    def _work(self, payload: Mapping[str, Any], kind: str):
        """(label, items, back-end call) for each part of the payload, in order."""
        act = self.backend.install if kind == "install" else self.backend.rollback
        by_manager: dict[str, list[dict[str, str]]] = {}
        for package in payload.get("packages") or []:
            manager = str(package.get("manager") or "")
            if self.backend.name not in MANAGERS.get(manager, ()):
                raise BackendError(f"{manager or 'unknown'} packages: not for the {self.backend.name} back-end")
            item = {"name": str(package.get("name", "")), "version": str(package.get("version", ""))}
            if package.get("arch"):
                item["arch"] = str(package["arch"])
            by_manager.setdefault(manager, []).append(item)
        parts = [(f"{manager} packages", items, act) for manager, items in by_manager.items()]
        updates = [u for u in payload.get("windows_updates") or [] if isinstance(u, dict)]
        if updates:
            if kind == "install":
                if any(not u.get("update_id") for u in updates):
                    raise BackendError("a Windows update without its update_id cannot be installed")
                items = [{"kind": "windows", "update_id": str(u["update_id"])} for u in updates]
            else:
                items = [{"kb": str(u.get("kb", ""))} for u in updates]
            parts.append(("Windows updates", items, act))
        for package in payload.get("winget") or []:
            item = {"kind": "winget", "id": str(package.get("id", "")), "version": str(package.get("version") or "")}
            parts.append((f"winget {item['id']}", [item], act))
        if not parts:
            raise BackendError("the job names nothing to do")
        return parts
