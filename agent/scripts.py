"""Running a script the portal signed, and refusing everything else.

Nothing in an envelope is trusted until ``signing.verify`` has accepted it against the key
pinned at enrollment; from then on only the payload that ``verify`` returned decides what
runs, so the bytes that were checked are the bytes that are executed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .logs import get_logger
from .signing import SignatureInvalid, verify

DEFAULT_TIMEOUT = 3600.0
OUTPUT_LIMIT = 64 * 1024  # bytes of output kept (the end of it, which says how the script ended)
SUFFIXES = {"sh": ".sh", "bash": ".sh", "python3": ".py", "powershell": ".ps1"}
INTERPRETERS = tuple(SUFFIXES)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")

log = get_logger("scripts")


class ScriptRefused(Exception):
    """The script was not run: its envelope failed verification or cannot be run here."""

    def report(self) -> dict[str, object]:
        return {"status": "refused", "reason": str(self)}


@dataclass
class ScriptResult:
    name: str
    version: int
    job: str
    interpreter: str
    command: list[str]
    dry_run: bool
    exit_code: int | None = None
    output: str = ""
    output_truncated: bool = False
    timed_out: bool = False
    duration: float = 0.0

    @property
    def status(self) -> str:
        if self.dry_run:
            return "dry_run"
        if self.timed_out:
            return "timed_out"
        return "succeeded" if self.exit_code == 0 else "failed"

    def report(self) -> dict[str, object]:
        return {
            "status": self.status,
            "name": self.name,
            "version": self.version,
            "job": self.job,
            "exit_code": self.exit_code,
            "output": self.output,
            "output_truncated": self.output_truncated,
            "duration": round(self.duration, 3),
        }


def check_script_payload(payload: Mapping[str, Any]) -> None:
    """The fields PROTOCOL.md requires of a script payload, with their types."""
    if payload.get("kind") != "script":
        raise ScriptRefused("the payload is not a script")
    version = payload.get("version")
    problems = [
        ("name", isinstance(payload.get("name"), str) and payload.get("name")),
        ("version", isinstance(version, int) and not isinstance(version, bool)),
        ("interpreter", payload.get("interpreter") in INTERPRETERS),
        ("sha256", isinstance(payload.get("sha256"), str) and _HEX64.fullmatch(payload["sha256"])),
        ("body", isinstance(payload.get("body"), str)),
        ("job", isinstance(payload.get("job"), str)),
        ("issued_at", isinstance(payload.get("issued_at"), str) and _ISO_UTC.fullmatch(payload["issued_at"])),
    ]
    bad = [field for field, ok in problems if not ok]
    if bad:
        raise ScriptRefused(f"the script payload has missing or invalid fields: {', '.join(bad)}")


def interpreter_command(interpreter: str, path: str) -> list[str]:
    """The command that runs the script file at ``path``: never a shell string."""
    if interpreter == "powershell":
        if os.name == "nt":
            # -ExecutionPolicy Bypass affects this process only (see README, execution policy).
            return ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", path]
        return ["pwsh", "-NoProfile", "-NonInteractive", "-File", path]
    if interpreter == "python3":
        return [shutil.which("python3") or sys.executable, path]
    return [interpreter, path]


def run_signed_script(
    envelope: object,
    jwk: Mapping[str, Any] | None,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    output_limit: int = OUTPUT_LIMIT,
) -> ScriptResult:
    """Verify ``envelope`` against the pinned ``jwk``, then run its script (or, in dry run, say how).

    Raises ScriptRefused, after logging it, when anything is wrong; the script has not run then.
    """
    try:
        payload = _verified_payload(envelope, jwk)
        command = interpreter_command(payload["interpreter"], "<script>")
        if shutil.which(command[0]) is None:
            raise ScriptRefused(f"interpreter {payload['interpreter']} ({command[0]}) is not installed here")
    except ScriptRefused as exc:
        log.warning("refused a script: %s", exc)
        raise
    result = ScriptResult(
        name=payload["name"],
        version=payload["version"],
        job=payload["job"],
        interpreter=payload["interpreter"],
        command=command,
        dry_run=dry_run,
    )
    if dry_run:
        log.info("dry run: would run script %s v%d (job %r): %s", result.name, result.version, result.job, command)
        return result
    _execute(payload["body"], result, timeout, output_limit)
    log.info(
        "script %s v%d (job %r) %s, exit code %s",
        result.name,
        result.version,
        result.job,
        result.status,
        result.exit_code,
    )
    return result


def _verified_payload(envelope: object, jwk: Mapping[str, Any] | None) -> dict[str, Any]:
    if jwk is None:
        raise ScriptRefused("no script-signing key is pinned: enroll this machine first")
    try:
        payload = verify(envelope, jwk)
    except SignatureInvalid as exc:
        raise ScriptRefused(str(exc)) from exc
    check_script_payload(payload)
    return payload


def _execute(body: str, result: ScriptResult, timeout: float, output_limit: int) -> None:
    """Write ``body`` to a private file, run it, and fill in ``result``."""
    workdir = tempfile.mkdtemp(prefix="patchportal-script-")  # 0700
    try:
        descriptor, path = tempfile.mkstemp(suffix=SUFFIXES[result.interpreter], dir=workdir)  # 0600
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(body.encode("utf-8"))  # exactly the bytes whose sha256 was verified
        result.command = interpreter_command(result.interpreter, path)
        # Output goes to a file, not a pipe: a chatty script cannot fill the agent's memory,
        # and a background child keeping the pipe open cannot hang the wait.
        with tempfile.TemporaryFile() as output:
            started = time.monotonic()
            process = subprocess.Popen(
                result.command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                **_own_process_group(),
            )
            try:
                result.exit_code = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                result.timed_out = True
                _kill_tree(process)
                result.exit_code = process.wait()
            result.duration = time.monotonic() - started
            result.output, result.output_truncated = _tail_of(output, output_limit)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _own_process_group() -> dict[str, Any]:
    # So a timeout can stop the script and everything it started, not only its interpreter.
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def _kill_tree(process: subprocess.Popen) -> None:
    if os.name == "nt":
        process.kill()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _tail_of(output, limit: int) -> tuple[str, bool]:
    size = output.seek(0, os.SEEK_END)
    output.seek(max(0, size - limit))
    return output.read().decode("utf-8", "replace"), size > limit
