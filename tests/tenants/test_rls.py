"""PostgreSQL row-level security, exercised through the app's own database role."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from portal.db_scope import Scope, db_scope, tenant_scope
from tenants.models import AuditEntry

pytestmark = pytest.mark.django_db


def _app_dsn():
    db = connection.settings_dict  # the test database, as the app role
    return dict(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"], dbname=db["NAME"])


def test_the_suite_connects_as_an_ordinary_role_that_does_not_own_the_tables():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        user, is_super, bypasses = cursor.fetchone()
        cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'tenants_site'")
        (owner,) = cursor.fetchone()
    assert user == settings.APP_DATABASE_USER
    assert not is_super and not bypasses
    assert owner != user


def test_an_unfiltered_raw_query_sees_only_the_scoped_tenant(world):
    with tenant_scope([world.tenant_a.pk]), connection.cursor() as cursor:
        # A query that forgets the tenant filter, as a buggy view might write it.
        cursor.execute("SELECT name FROM tenants_site ORDER BY name")
        names = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT slug FROM tenants_tenant")
        slugs = [row[0] for row in cursor.fetchall()]
    assert names == ["Alpha HQ"]
    assert slugs == ["alpha"]


@pytest.mark.django_db(transaction=True)
def test_a_production_style_connection_sees_only_what_its_scope_allows(world):
    """A separate connection, made the way the running app connects, on committed data."""
    with psycopg.connect(**_app_dsn()) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tenants_site")
        assert cursor.fetchone()[0] == 0  # no scope set: fail closed
        cursor.execute("SELECT set_config('portal.tenant_ids', %s, true)", [str(world.tenant_b.pk)])
        cursor.execute("SELECT name FROM tenants_site")  # no tenant filter
        assert [row[0] for row in cursor.fetchall()] == ["Bravo HQ"]
        cursor.execute("SELECT count(*) FROM tenants_auditentry WHERE tenant_id IS NULL")
        assert cursor.fetchone()[0] == 0  # MSP-wide entries need the MSP-wide scope


def test_writes_into_another_tenant_are_refused(world):
    from django.db import DatabaseError

    sneaky_insert = "INSERT INTO tenants_site (tenant_id, name, address, notes) VALUES (%s, 'Sneaky', '', '')"
    with (
        pytest.raises(DatabaseError, match="row-level security"),
        tenant_scope([world.tenant_a.pk]),
        connection.cursor() as cursor,
    ):
        cursor.execute(sneaky_insert, [world.tenant_b.pk])


def test_scopes_nest_and_restore(world):
    with tenant_scope([world.tenant_a.pk]):
        with db_scope(Scope.system()), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tenants_tenant")
            assert cursor.fetchone()[0] == 2
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tenants_tenant")
            assert cursor.fetchone()[0] == 1


def test_every_table_with_a_tenant_column_has_row_level_security():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
            WHERE c.relkind = 'r' AND NOT c.relrowsecurity
            """
        )
        unprotected = [row[0] for row in cursor.fetchall()]
    assert unprotected == []


def test_audit_rows_cannot_be_updated_or_deleted(world):
    from django.db import DatabaseError, transaction

    entry = AuditEntry.objects.filter(tenant=world.tenant_a).first()
    assert entry is not None  # creating the tenant wrote one
    for statement in (
        "UPDATE tenants_auditentry SET action = 'x' WHERE id = %s",
        "DELETE FROM tenants_auditentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    entry.refresh_from_db()
    assert entry.action == "create"


@pytest.mark.django_db(transaction=True)
def test_not_even_the_schema_owner_can_rewrite_the_audit_log(world):
    owner = settings.MIGRATION_DATABASE
    dsn = dict(
        host=owner["HOST"],
        port=owner["PORT"],
        user=owner["USER"],
        password=owner["PASSWORD"],
        dbname=connection.settings_dict["NAME"],
    )
    with psycopg.connect(**dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM tenants_auditentry").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM tenants_auditentry")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("UPDATE tenants_auditentry SET action = 'rewritten'")
