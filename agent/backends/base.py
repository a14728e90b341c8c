"""What every back-end offers, and running package tools without a shell."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Package tools translate their output; the parsers read the untranslated C locale.
C_LOCALE = {"LC_ALL": "C", "LANG": "C", "LANGUAGE": ""}


class BackendError(Exception):
    """A package tool failed or printed something the parser cannot read."""


@dataclass
class CommandResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def describe_failure(self) -> str:
        tail = (self.stderr or self.stdout).strip().splitlines()[-5:]
        return f"`{' '.join(self.argv)}` exited with {self.returncode}" + (": " + " | ".join(tail) if tail else "")


def run_command(
    argv: Sequence[str],
    timeout: float,
    env: Mapping[str, str] | None = None,
    ok_codes: Sequence[int] | None = (0,),
    decode=None,
) -> CommandResult:
    """Run ``argv`` (a list, never a shell string) and fail unless it exits with one of ``ok_codes``.

    ``ok_codes=None`` accepts any exit status, for callers that read the status themselves.
    """
    environment = dict(os.environ)
    environment.update(env or {})
    try:
        completed = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=environment,
            check=False,
        )
    except FileNotFoundError:
        raise BackendError(f"{argv[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise BackendError(f"`{' '.join(argv)}` did not finish within {timeout:g} s") from None
    decoder = decode or (lambda data: data.decode("utf-8", "replace"))
    result = CommandResult(list(argv), completed.returncode, decoder(completed.stdout), decoder(completed.stderr))
    if ok_codes is not None and result.returncode not in ok_codes:
        raise BackendError(result.describe_failure())
    return result


@dataclass
class InstallResult:
    """What an install did, or with ``dry_run`` what it would do; the machine is unchanged then."""

    dry_run: bool
    command: list[str]
    returncode: int
    succeeded: bool
    # One entry per planned or performed step, in the back-end's terms.
    actions: list[dict[str, object]] = field(default_factory=list)
    output: str = ""


class Backend:
    """Interface of a back-end; see dpkg.py, rpm.py and windows/ for the real ones."""

    name = "base"
    inventory_format = ""

    def inventory(self) -> list[dict[str, str]]:
        raise NotImplementedError

    def updates(self) -> list[dict[str, object]]:
        raise NotImplementedError

    def install(self, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        raise NotImplementedError

    def rollback(self, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        """Go back to the given (earlier) versions; see each back-end for what it runs."""
        raise BackendError(f"the {self.name} back-end cannot roll back")

    def reboot(self, dry_run: bool, delay_minutes: int = 1) -> InstallResult:
        """Schedule a reboot (in dry run, say how); the agent is stopped by it."""
        argv = ["shutdown", "-r", f"+{delay_minutes}", "PatchPortal: restarting to finish updates"]
        return run_or_describe(argv, dry_run, "reboot")

    def service_active(self, name: str) -> tuple[bool, str]:
        """Whether the named service runs (systemd); (ok, detail)."""
        if not _SERVICE_NAME.match(name):
            return False, f"not a service name: {name!r}"
        try:
            result = run_command(["systemctl", "is-active", name], 30, env=C_LOCALE, ok_codes=None)
        except BackendError as exc:
            return False, str(exc)
        state = result.stdout.strip() or result.stderr.strip()
        return result.returncode == 0, state

    def health_checks(self) -> list[dict[str, object]]:
        """Checks of the back-end's own to add to every health report (none by default)."""
        return []

    def reboot_required(self) -> bool:
        return False

    def identity(self) -> dict[str, str]:
        """Host facts that replace the machine's own (``machine_id``, ``hostname``); none by default.

        The simulated back-end pretends to be a machine of its own, so that several agents
        on one host enroll as several devices.
        """
        return {}

    def arch(self) -> str:
        raise NotImplementedError


_SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._:-]{0,200}$")
REBOOT_TIMEOUT = 120


def run_or_describe(argv: list[str], dry_run: bool, action: str, timeout: float = REBOOT_TIMEOUT) -> InstallResult:
    """Run a command that has no simulation mode, or in dry run only report it."""
    if dry_run:
        return InstallResult(True, argv, 0, True, [{"action": action}], f"dry run: would run {' '.join(argv)}")
    result = run_command(argv, timeout, ok_codes=None)
    output = tail(result.stdout + result.stderr)
    return InstallResult(False, argv, result.returncode, result.returncode == 0, [{"action": action}], output)


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def unique(items: list[dict[str, object]]) -> list[dict[str, object]]:
    """Drop exact duplicates (keeping order): the server keys inventory rows on their fields."""
    seen = set()
    kept = []
    for item in items:
        key = tuple(sorted((k, str(v)) for k, v in item.items()))
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept
