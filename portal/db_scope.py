"""The tenant scope that PostgreSQL row-level security reads.

Every tenant-owned table has a policy that calls `portal_tenant_visible(tenant_id)`
(created in tenants/migrations/0001). The function reads two transaction-local
settings: `portal.all_tenants` ('on' for MSP-wide access) and `portal.tenant_ids`
(a comma-separated list). Outside a scope nothing is visible, so code that forgets
to enter one fails closed.

`db_scope` sets both settings with `set_config(..., is_local => true)` inside an
atomic block and restores the previous values on exit, so scopes nest: a request
scope can briefly widen to the system scope for trusted server code (audit writes,
token lookups) and return to the narrower one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction

__all__ = ["Scope", "current_scope", "db_scope", "system_scope", "tenant_scope"]

ALL_SETTING = "portal.all_tenants"
IDS_SETTING = "portal.tenant_ids"


@dataclass(frozen=True)
class Scope:
    all_tenants: bool
    tenant_ids: frozenset[int]

    @classmethod
    def system(cls) -> Scope:
        return cls(True, frozenset())

    @classmethod
    def of(cls, tenant_ids: Iterable[int]) -> Scope:
        return cls(False, frozenset(int(t) for t in tenant_ids))

    @property
    def settings(self) -> tuple[str, str]:
        return ("on" if self.all_tenants else "off", ",".join(str(t) for t in sorted(self.tenant_ids)))


def _read() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), coalesce(current_setting(%s, true), '')",
            [ALL_SETTING, IDS_SETTING],
        )
        return cursor.fetchone()


def _write(values: tuple[str, str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true), set_config(%s, %s, true)",
            [ALL_SETTING, values[0], IDS_SETTING, values[1]],
        )


def _swap(values: tuple[str, str]) -> tuple[str, str]:
    """Set new values and return the old ones, in one round trip (the select list runs in order)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), coalesce(current_setting(%s, true), ''),"
            " set_config(%s, %s, true), set_config(%s, %s, true)",
            [ALL_SETTING, IDS_SETTING, ALL_SETTING, values[0], IDS_SETTING, values[1]],
        )
        return cursor.fetchone()[:2]


def current_scope() -> Scope:
    all_value, ids_value = _read()
    ids = [int(x) for x in ids_value.split(",") if x]
    return Scope(all_value == "on", frozenset(ids))


@contextmanager
def db_scope(scope: Scope) -> Iterator[Scope]:
    """Run the block in a transaction where RLS lets through exactly `scope`.

    Nested inside another transaction, the previous scope is restored on exit; as the
    outermost block, the commit ends the transaction-local setting by itself.
    """
    nested = connection.in_atomic_block
    with transaction.atomic():
        if nested:
            previous = _swap(scope.settings)
        else:
            _write(scope.settings)
        yield scope
        # Only on a clean exit: after an error the atomic block rolls back to its
        # savepoint, and PostgreSQL reverts SET LOCAL with it.
        if nested:
            _write(previous)


def system_scope():
    """For trusted server code that must see every tenant (scheduled tasks, auth lookups)."""
    return db_scope(Scope.system())


def tenant_scope(tenant_ids: Iterable[int]):
    return db_scope(Scope.of(tenant_ids))


def set_scope(scope: Scope) -> None:
    """Set the scope for the rest of the current transaction (used by request middleware)."""
    if not connection.in_atomic_block:
        raise RuntimeError("set_scope needs an open transaction; use db_scope() instead")
    _write(scope.settings)
