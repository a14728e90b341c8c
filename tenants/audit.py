"""Writing the audit log.

Who is acting comes from a context variable that the request middleware, the API
authentication, the agent API and the Celery task base fill in; code that changes
data only says what it did.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import models

from portal.db_scope import system_scope
from portal.logging import request_id_var

__all__ = ["Actor", "acting_as", "current_actor", "record", "record_many", "record_save"]


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str
    source: str
    ip: str | None = None


SYSTEM = Actor(None, "system", "system")
_actor: ContextVar[Actor] = ContextVar("audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


@contextmanager
def acting_as(actor: Actor):
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def set_actor(actor: Actor) -> None:
    """Set the actor for the rest of the current `actor_context()` (middleware / authentication)."""
    _actor.set(actor)


@contextmanager
def actor_context():
    """Undo any `set_actor` made inside the block (one request in a reused thread)."""
    token = _actor.set(_actor.get())
    try:
        yield
    finally:
        _actor.reset(token)


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _audited_fields(instance):
    exclude = set(getattr(instance, "audit_exclude", ()))
    for field in instance._meta.concrete_fields:
        if field.name not in exclude and field.attname not in exclude:
            yield field


def snapshot(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in _audited_fields(instance)}


def _tenant_id(instance) -> int | None:
    return getattr(instance, "tenant_id", None)


def write(
    *,
    action: str,
    object_type: str = "",
    object_id="",
    object_repr: str = "",
    tenant_id=None,
    changes=None,
    message: str = "",
    actor: Actor | None = None,
):
    from tenants.models import AuditEntry

    actor = actor or current_actor()
    # Written in the system scope: the log belongs to the MSP, and a client user's action
    # must be recorded even where their own scope could not see the row (e.g. a login).
    with system_scope():
        return AuditEntry.objects.create(
            actor_id=actor.user_id,
            actor_label=actor.label[:254],
            source=actor.source,
            ip=actor.ip,
            request_id=request_id_var.get() if request_id_var.get() != "-" else "",
            action=action,
            object_type=object_type,
            object_id=str(object_id or ""),
            object_repr=object_repr[:300],
            tenant_id=tenant_id,
            changes=_jsonable(changes or {}),
            message=message,
        )


def record_many(action: str, objects: list, *, changes=None, message=None) -> int:
    """One entry per object, written in one statement (set-based work: auto-approval, expiry).

    `changes` and `message` may be callables of the object, for per-object details.
    """
    from tenants.models import AuditEntry

    actor = current_actor()
    request_id = request_id_var.get() if request_id_var.get() != "-" else ""
    entries = [
        AuditEntry(
            actor_id=actor.user_id,
            actor_label=actor.label[:254],
            source=actor.source,
            ip=actor.ip,
            request_id=request_id,
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            object_repr=str(obj)[:300],
            tenant_id=_tenant_id(obj),
            changes=_jsonable(changes(obj) if callable(changes) else (changes or {})),
            message=message(obj) if callable(message) else (message or ""),
        )
        for obj in objects
    ]
    with system_scope():
        AuditEntry.objects.bulk_create(entries, batch_size=2000)
    return len(entries)


def record(action: str, obj: models.Model | None = None, *, tenant=None, changes=None, message: str = ""):
    """Record an action that is not a plain save or delete (a decision, a login, a run)."""
    tenant_id = tenant.pk if tenant is not None else (_tenant_id(obj) if obj is not None else None)
    return write(
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=obj.pk if obj is not None else "",
        object_repr=str(obj) if obj is not None else "",
        tenant_id=tenant_id,
        changes=changes,
        message=message,
    )


def record_save(instance, created: bool) -> None:
    current = snapshot(instance)
    if created:
        changes = {k: [None, v] for k, v in current.items() if v not in (None, "", [], {})}
    else:
        loaded = getattr(instance, "_audit_loaded", None)
        if loaded is None:
            changes = {k: [None, v] for k, v in current.items()}
        else:
            changes = {k: [loaded[k], v] for k, v in current.items() if k in loaded and loaded[k] != v}
        if not changes:
            return
    write(
        action="create" if created else "update",
        object_type=instance._meta.label_lower,
        object_id=instance.pk,
        object_repr=str(instance),
        tenant_id=_tenant_id(instance),
        changes=changes,
    )


def pending_delete(instance) -> dict:
    """The entry for a delete, taken before the row (and its str) is gone."""
    return {
        "action": "delete",
        "object_type": instance._meta.label_lower,
        "object_id": instance.pk,
        "object_repr": str(instance),
        "tenant_id": _tenant_id(instance),
        "changes": {k: [v, None] for k, v in snapshot(instance).items()},
    }
