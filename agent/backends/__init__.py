"""Package back-ends, one module per package system, and choosing one for this machine."""

from __future__ import annotations

import os
import shutil

from .base import Backend, BackendError, InstallResult

__all__ = ["Backend", "BackendError", "InstallResult", "create_backend", "detect_backend_name"]


def detect_backend_name() -> str:
    """windows on Windows, else dpkg if dpkg-query exists, else rpm if rpm exists.

    dpkg is tried before rpm because Debian can have the rpm tool installed for building
    packages, while no RHEL-family system ships dpkg-query.
    """
    if os.name == "nt":
        return "windows"
    if shutil.which("dpkg-query"):
        return "dpkg"
    if shutil.which("rpm"):
        return "rpm"
    raise BackendError("no supported package system found (looked for dpkg-query and rpm)")


def create_backend(name: str = "auto", config=None) -> Backend:
    """The back-end called ``name``; ``config`` (agent.config.Config) sets up the simulated one."""
    if name == "simulated":
        from .simulated import SimulatedBackend

        if config is None:
            raise BackendError("the simulated back-end needs the agent's configuration")
        return SimulatedBackend(config.state_dir, config.simulated_failure_rate, config.simulated_healthy)
    if name == "auto":
        name = detect_backend_name()
    if name == "dpkg":
        from .dpkg import DpkgBackend

        return DpkgBackend()
    if name == "rpm":
        from .rpm import RpmBackend

        return RpmBackend()
    if name == "windows":
        from .windows import WindowsBackend

        return WindowsBackend()
    raise BackendError(f"unknown backend {name!r}")
