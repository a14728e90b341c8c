"""Fixtures of the fault tests: throwaway servers for the session, a portal stack per test.

Building the servers (initdb, and above all migrating the template database) takes a while,
so in a single-process run it starts in a background thread as soon as collection shows a test
that needs them, and overlaps with the tests that run before; the session fixture waits for it.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.faults.services import Postgres, Redis, missing_binaries
from tests.faults.stack import OWNER, TEMPLATE, Stack, migrate_template


class Servers:
    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="patchportal-faults-"))
        # Its own top-level directory: as root, the cluster belongs to the postgres user.
        self.postgres = Postgres(Path(tempfile.mkdtemp(prefix="patchportal-faults-pg-")))
        self.redis = Redis(self.tmp / "redis")

    def build(self) -> Servers:
        self.postgres.init()
        self.postgres.start()
        self.redis.start()
        migrate_template(self.postgres, self.redis, self.tmp)
        return self

    def destroy(self) -> None:
        self.redis.destroy()
        self.postgres.destroy()
        shutil.rmtree(self.tmp, ignore_errors=True)


_building: dict[str, object] = {}


def _start_building() -> Future:
    if "future" not in _building:
        servers = Servers()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fault-servers")
        _building.update(servers=servers, executor=executor, future=executor.submit(servers.build))
    return _building["future"]


def _needs_servers(item) -> bool:
    return "fault_servers" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items):
    # Under pytest-xdist (--dist loadgroup) the fault tests all run on one worker, which builds
    # the servers once for them.
    for item in items:
        if _needs_servers(item):
            item.add_marker(pytest.mark.xdist_group("faults"))


def pytest_collection_finish(session):
    # A worker of pytest-xdist sees every test at collection, not the ones it will run: there
    # the servers are built when the first fault test asks for them.
    in_xdist_worker = hasattr(session.config, "workerinput")
    if not in_xdist_worker and not missing_binaries() and any(_needs_servers(item) for item in session.items):
        _start_building()


def pytest_sessionfinish(session):
    # Torn down here, whether or not a test used them (or their build failed).
    if "future" in _building:
        _building["executor"].shutdown(wait=True)
        _building["servers"].destroy()
        _building.clear()


@pytest.fixture(scope="session")
def fault_servers():
    """A private PostgreSQL (with a migrated template database) and a private Redis."""
    reason = missing_binaries()
    if reason:
        pytest.skip(reason)
    servers = _start_building().result()
    return servers.postgres, servers.redis


_numbers = itertools.count(1)


@pytest.fixture
def make_stack(fault_servers, tmp_path):
    """make_stack(**settings): web, worker and driver on a fresh copy of the migrated database.

    Settings are environment variables of every portal process (JOB_LEASE_SECONDS=…).
    Whatever a test did to the servers, the next one finds them running and Redis empty.
    """
    postgres, redis = fault_servers
    stacks = []

    def make(**settings: str) -> Stack:
        postgres.ensure_running()
        redis.ensure_running()
        redis.client().flushall()
        database = f"faults_{next(_numbers)}"
        postgres.execute(f"CREATE DATABASE {database} TEMPLATE {TEMPLATE} OWNER {OWNER[0]}")
        stack = Stack(postgres, redis, database, tmp_path, **settings)
        stacks.append(stack)
        return stack.start()

    yield make
    for stack in stacks:
        stack.stop()
    postgres.ensure_running()
    redis.ensure_running()
    for stack in stacks:
        postgres.execute(f"DROP DATABASE IF EXISTS {stack.database} WITH (FORCE)")
