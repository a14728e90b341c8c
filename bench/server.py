"""Start the production web server (gunicorn with portal/gunicorn.conf.py) for a benchmark."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request

from bench.env import ROOT

PORT = 8089


@contextlib.contextmanager
def web_server(port: int = PORT, stop_signal: int = signal.SIGTERM, **env):
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "portal.wsgi", "--config", "portal/gunicorn.conf.py"],
        cwd=ROOT,
        env={**os.environ, "BIND": f"127.0.0.1:{port}", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _wait_ready(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, stop_signal)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _wait_ready(port, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited: " + process.stderr.read().decode(errors="replace")[-2000:])
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready")
