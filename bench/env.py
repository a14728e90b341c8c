"""The benchmark database: a separate PostgreSQL database, migrated like production.

Benchmarks never touch the portal's own database; they use `<name>_bench` with the same
two roles (the schema owner migrates, the app role serves) and a Redis database of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def _load_dotenv() -> None:
    from dotenv import load_dotenv

    load_dotenv(ROOT / ".env", override=False)


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def configure() -> dict:
    """Point this process (and the servers it starts) at the bench database; returns the env."""
    _load_dotenv()
    app_url = os.environ.get("DATABASE_URL", "postgres://patchportal_app:patchportal_app@127.0.0.1:5432/patchportal")
    owner_url = os.environ.get(
        "MIGRATION_DATABASE_URL", "postgres://patchportal_owner:patchportal_owner@127.0.0.1:5432/patchportal"
    )
    name = urlsplit(app_url).path.lstrip("/") + "_bench"
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0] + "/14"
    env = {
        "DATABASE_URL": _with_db(app_url, name),
        "MIGRATION_DATABASE_URL": _with_db(owner_url, name),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "BENCH_ENDPOINTS": "true",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_COOKIES": "false",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    os.environ.update(env)
    return {**os.environ}


def create_database() -> None:
    import psycopg

    owner = urlsplit(os.environ["MIGRATION_DATABASE_URL"])
    name = owner.path.lstrip("/")
    admin = psycopg.connect(
        host=owner.hostname,
        port=owner.port or 5432,
        user=owner.username,
        password=owner.password or "",
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    app_user = urlsplit(os.environ["DATABASE_URL"]).username
    db = psycopg.connect(
        host=owner.hostname,
        port=owner.port or 5432,
        user=owner.username,
        password=owner.password or "",
        dbname=name,
        autocommit=True,
    )
    with db:
        db.execute(f'GRANT CONNECT ON DATABASE "{name}" TO "{app_user}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)


def settle(timeout: float = 180) -> None:
    """Wait until no autovacuum runs, so the figures that follow do not share the machine with it."""
    import time

    import psycopg

    deadline, quiet = time.monotonic() + timeout, 0
    with psycopg.connect(os.environ["MIGRATION_DATABASE_URL"], autocommit=True) as conn:
        while time.monotonic() < deadline and quiet < 3:
            (running,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
            ).fetchone()
            quiet = 0 if running else quiet + 1
            time.sleep(1)


def analyze() -> None:
    """Fresh planner statistics for what a benchmark just built, as autovacuum would gather in
    time. As the schema owner: ANALYZE by the app role skips the tables with a warning."""
    import psycopg

    with psycopg.connect(os.environ["MIGRATION_DATABASE_URL"], autocommit=True) as conn:
        conn.execute("ANALYZE")


def vacuum(*tables: str) -> None:
    """Reclaim the rows a benchmark deleted between its runs, so autovacuum does not start in
    the middle of the next one; as the schema owner, like analyze()."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(os.environ["MIGRATION_DATABASE_URL"], autocommit=True) as conn:
        for table in tables:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))


def setup_django() -> None:
    import django

    django.setup()


def manage(*args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""
