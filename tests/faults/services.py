"""Throwaway PostgreSQL and Redis servers that the fault tests may stop, restart and lose.

The machine's shared PostgreSQL (5432) and Redis (6379) are never touched here: each
`Postgres` and `Redis` is a private server on a free loopback port with its data in a
temporary directory, started and stopped by these tests alone.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import psycopg

__all__ = ["Postgres", "Redis", "free_port", "missing_binaries", "port_open", "wait_until"]

from tests.fixtures.mail import free_port
from tests.fixtures.worker_process import wait_until

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing_binaries() -> str:
    """Why the throwaway servers cannot run here, or '' when they can."""
    if _pg_bin() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if not Path(REDIS_SERVER).exists():
        return "redis-server is not installed"
    return ""


class Postgres:
    """A private cluster: `initdb` with trust authentication, `pg_ctl` to start, stop and restart.

    PostgreSQL refuses to run as root; as root the cluster belongs to the `postgres` user.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.data = directory / "data"
        self.sockets = directory / "sockets"
        self.log = directory / "postgres.log"
        self.port = free_port()
        self.bin = _pg_bin()

    def _run(self, *command: str, timeout: float = 120) -> None:
        argv = [str(self.bin / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:2])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def init(self) -> Postgres:
        self.sockets.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            shutil.chown(self.sockets, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    @property
    def _options(self) -> str:
        return (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options, "-w", "-t", "60", "start")
        wait_until(self.accepts, timeout=60, what="the throwaway PostgreSQL to accept connections")

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session (as a restart does); the data stays."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def accepts(self) -> bool:
        try:
            with psycopg.connect(self.url("postgres", "", "postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def ensure_running(self) -> None:
        if not self.accepts():
            if self.running():
                with contextlib.suppress(RuntimeError):
                    self.stop("immediate")
            self.start()

    def url(self, user: str, password: str, database: str) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgres://{auth}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, params=None, database: str = "postgres") -> list[tuple]:
        """Run SQL as the superuser (outside a transaction), returning any rows."""
        with psycopg.connect(self.url("postgres", "", database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def destroy(self) -> None:
        if self.running():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


class Redis:
    """`redis-server` without persistence: a restart loses every key, as a crash would."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log = open(self.directory / f"redis-{self.starts}.log", "wb")  # noqa: SIM115 - closed in stop()
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.directory), "--daemonize", "no"]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._log = log
        wait_until(lambda: port_open(self.port), timeout=30, what="the throwaway Redis to listen")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        self.process = None
        wait_until(lambda: not port_open(self.port), timeout=30, what="the throwaway Redis to stop listening")

    def restart(self) -> None:
        self.stop()
        self.start()

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.process = None
            self.start()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self):
        import redis

        return redis.Redis.from_url(self.url(), socket_timeout=5, socket_connect_timeout=5)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
