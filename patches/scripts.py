"""Writing scripts: every change of a body is a new, immutable version with its SHA-256.

Views and the API go through these functions so that a version number is never taken twice
and `Script.current_version` always names the newest version.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patches.models import Script, ScriptVersion

__all__ = ["StaleEdit", "add_version", "create_script", "update_script"]


class StaleEdit(ValidationError):
    """The script gained a version since the editor loaded it."""


@transaction.atomic
def create_script(
    *,
    name: str,
    body: str,
    user,
    interpreter: str = Script.Interpreter.SH,
    description: str = "",
    note: str = "",
    now=None,
) -> Script:
    now = now or timezone.now()
    script = Script.objects.create(
        name=name, description=description, interpreter=interpreter, created_at=now, updated_at=now
    )
    add_version(script, body=body, note=note or "First version.", user=user, now=now)
    return script


@transaction.atomic
def add_version(script: Script, *, body: str, user, note: str = "", now=None, base_version: int | None = None):
    """Append a version and make it current. `base_version`: the version the author edited,
    refused if another version was saved meanwhile (two admins editing at once)."""
    now = now or timezone.now()
    # The row lock serialises concurrent edits of one script: numbers stay gapless and unique.
    locked = Script.objects.select_for_update().get(pk=script.pk)
    if base_version is not None and locked.current_version != base_version:
        raise StaleEdit(
            {
                "base_version": f"Version {locked.current_version} was saved while you edited version "
                f"{base_version}; reload and apply your change to it."
            }
        )
    version = ScriptVersion.objects.create(
        script=locked,
        number=locked.current_version + 1,
        body=body,
        sha256=ScriptVersion.digest(body),
        note=note,
        created_by=user,
        created_at=now,
    )
    locked.current_version = version.number
    locked.updated_at = now
    locked.save()
    # The caller's instance follows, so a later save of it does not log this change again.
    script.current_version, script.updated_at = locked.current_version, locked.updated_at
    script._audit_loaded = dict(locked._audit_loaded)
    return version


@transaction.atomic
def update_script(
    script: Script,
    *,
    user,
    body: str | None = None,
    note: str = "",
    base_version: int | None = None,
    now=None,
    **fields,
) -> ScriptVersion | None:
    """Change name, description or interpreter, and add a version when the body differs from
    the current one. Returns the new version, or None when the body stayed the same.

    Compared with the stored row, not with `script` (a bound ModelForm has already written
    the new values onto its instance); `script` is refreshed to the result.
    """
    now = now or timezone.now()
    locked = Script.objects.select_for_update().get(pk=script.pk)
    changed = {name: value for name, value in fields.items() if getattr(locked, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(locked, name, value)
        locked.updated_at = now
        locked.save()
    version = None
    current = locked.current
    if body is not None and (current is None or current.body != body):
        version = add_version(locked, body=body, note=note, user=user, now=now, base_version=base_version)
    for name in ("name", "description", "interpreter", "current_version", "updated_at"):
        setattr(script, name, getattr(locked, name))
    script._audit_loaded = dict(locked._audit_loaded)
    return version
