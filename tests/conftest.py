"""Shared test set-up.

The test database is created and migrated by the schema owner (MIGRATION_DATABASE_URL),
and the tests then connect as the app's own role, exactly as production does, so
PostgreSQL row-level security is active in every test. Test code itself (factories,
assertions) runs in the MSP-wide scope on its own connection; requests made through
the test client or a live server narrow it as in production.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from portal.management.commands.migrate import OWNER_KEYS, use_owner_credentials

pytest_plugins = [
    "tests.fixtures.personas",
    "tests.fixtures.mail",
    "tests.fixtures.workers",
    "tests.fixtures.worker_process",
    "tests.fixtures.feed_server",
]


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_keepdb, django_db_createdb):
    from django.test.utils import setup_databases, teardown_databases

    keepdb = django_db_keepdb and not django_db_createdb
    app_credentials = {key: connection.settings_dict[key] for key in OWNER_KEYS}
    with django_db_blocker.unblock():
        use_owner_credentials()
        _drop_abandoned_test_databases()
        db_cfg = setup_databases(verbosity=0, interactive=False, keepdb=keepdb, serialized_aliases=set())
        with connection.cursor() as cursor:
            # Test-only: transactional tests empty the tables between tests with TRUNCATE.
            role = connection.ops.quote_name(app_credentials["USER"])
            cursor.execute(f"GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO {role}")
        connection.close()
        connection.settings_dict.update(app_credentials)
    yield
    if not keepdb:
        with django_db_blocker.unblock():
            _end_leftover_sessions()
            use_owner_credentials()
            teardown_databases(db_cfg, verbosity=0)


def _end_leftover_sessions(wait: float = 5.0) -> None:
    """Sessions a thread or a killed process left on the test database would block its DROP.

    Run as the app role, which may end its own role's sessions (every test session is one).
    """
    import time

    deadline = time.monotonic() + wait
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND usename = current_user"
            )
            leftover = [row[0] for row in cursor.fetchall()]
            if not leftover or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for pid in leftover:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    connection.close()


def _drop_abandoned_test_databases() -> None:
    """Test databases of runs that died without cleaning up (their process is gone)."""
    import os
    import re

    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'test\\_patchportal\\_%%'")
        for (name,) in cursor.fetchall():
            # test_patchportal_<pid>, with pytest-xdist's _gw<n> after it.
            match = re.fullmatch(r"test_patchportal_(\d+)(?:_gw\d+)?", name)
            if match and int(match[1]) != os.getpid() and not os.path.exists(f"/proc/{match[1]}"):
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


@receiver(connection_created, dispatch_uid="tests.main_thread_sees_all_tenants")
def _test_code_sees_all_tenants(sender, connection, **kwargs):
    """Let factories and assertions in the test body read and write every tenant.

    Only the test's own thread: live-server and Celery worker threads connect without it,
    as production does, and the request middleware and task base narrow their scope.
    The setting is per session, so it survives the commits of transactional tests.
    """
    if threading.current_thread() is threading.main_thread():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('portal.all_tenants', 'on', false)")
