"""The real package tools, as oracles for the version comparison tests.

dpkg is run as ``dpkg --compare-versions``, many pairs per shell so that each comparison costs
one or two process starts rather than a Python subprocess each. rpm is the Python binding of
rpm 4.18 (Debian's python3-rpm) for the system interpreter, run once as a long-lived subprocess
that compares whole batches of pairs sent as JSON lines.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"

ERROR = "error"  # what an oracle reports for a version its tool rejects

# One output line per pair: the exit status of "lt", then of "eq" when "lt" was false.
_DPKG_BATCH = r"""
while [ "$#" -gt 0 ]; do
  dpkg --compare-versions -- "$1" lt "$2" 2>/dev/null; lt=$?
  eq=-
  if [ "$lt" -eq 1 ]; then dpkg --compare-versions -- "$1" eq "$2" 2>/dev/null; eq=$?; fi
  echo "$lt $eq"
  shift 2
done
"""

_DPKG_CHECK_BATCH = r"""
for version in "$@"; do
  dpkg --compare-versions -- "$version" eq "$version" 2>/dev/null
  echo "$?"
done
"""

_RPM_SERVER = r"""
import json, sys
import rpm

def compare(a, b):
    try:
        x, y = rpm.ver(a), rpm.ver(b)
    except ValueError as error:
        return "error: %s" % error
    return (x > y) - (x < y)

for line in sys.stdin:
    sys.stdout.write(json.dumps([compare(a, b) for a, b in json.loads(line)]) + "\n")
    sys.stdout.flush()
"""


class Dpkg:
    """``dpkg --compare-versions`` on this machine."""

    def __init__(self, executable: str):
        self.executable = executable

    def compare_many(self, pairs: list[tuple[str, str]]) -> list[int | str]:
        """-1, 0 or 1 for each pair, or ERROR where dpkg rejects either version."""
        if not pairs:
            return []
        arguments = [version for pair in pairs for version in pair]
        result = subprocess.run(
            ["bash", "-c", _DPKG_BATCH, "dpkg-batch", *arguments], capture_output=True, text=True, check=True
        )
        return [self._sign(line) for line in result.stdout.splitlines()]

    def compare(self, a: str, b: str) -> int | str:
        return self.compare_many([(a, b)])[0]

    def rejects_many(self, versions: list[str]) -> list[bool]:
        """Whether dpkg rejects each version (exit status 2, "error"), rather than accepting or only warning."""
        result = subprocess.run(
            ["bash", "-c", _DPKG_CHECK_BATCH, "dpkg-check", *versions], capture_output=True, text=True, check=True
        )
        return [status == "2" for status in result.stdout.split()]

    def explain(self, a: str, b: str) -> str:
        """dpkg's own output for one comparison, for failure messages."""
        result = subprocess.run(
            [self.executable, "--compare-versions", "--", a, "lt", b], capture_output=True, text=True, check=False
        )
        return f"exit {result.returncode}: {result.stderr.strip()}"

    @staticmethod
    def _sign(line: str) -> int | str:
        lt, eq = line.split()
        if "2" in (lt, eq):
            return ERROR
        if lt == "0":
            return -1
        return 0 if eq == "0" else 1


class Rpm:
    """``rpm.ver`` comparisons, through one long-lived system Python process."""

    def __init__(self):
        self._process = subprocess.Popen(
            [SYSTEM_PYTHON, "-c", _RPM_SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def compare_many(self, pairs: list[tuple[str, str]]) -> list[int | str]:
        """-1, 0 or 1 for each pair, or ERROR where rpm rejects either version."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(pairs) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the rpm oracle process exited with status {self._process.wait()}")
        return [ERROR if isinstance(result, str) else result for result in json.loads(line)]

    def compare(self, a: str, b: str) -> int | str:
        return self.compare_many([(a, b)])[0]

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=10)


def require_dpkg() -> Dpkg:
    executable = shutil.which("dpkg")
    if executable is None:
        pytest.fail("dpkg is required to check Debian version ordering against the real tool; install dpkg")
    return Dpkg(executable)


def require_rpm() -> Rpm:
    needed = (
        f"{SYSTEM_PYTHON} with the rpm module (Debian package python3-rpm, installed by `make test`) is "
        "required to check RPM version ordering against rpm itself"
    )
    if not Path(SYSTEM_PYTHON).exists():
        pytest.fail(f"{needed}: {SYSTEM_PYTHON} does not exist")
    check = subprocess.run([SYSTEM_PYTHON, "-c", "import rpm; rpm.ver"], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        pytest.fail(f"{needed}: {check.stderr.strip()[-300:]}")
    return Rpm()
