"""Signals tenants sends for apps above it, and audit entries for authentication events."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import Signal, receiver

from tenants import audit
from tenants.middleware import client_ip

# Sent after a tenant is activated, deactivated, archived or unarchived. Arguments: tenant, state.
tenant_state_changed = Signal()


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs):
    actor = audit.Actor(user.pk, user.email, "ui", client_ip(request) if request else None)
    audit.write(action="login", object_type="tenants.user", object_id=user.pk, object_repr=user.email, actor=actor)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is None:
        return
    actor = audit.Actor(user.pk, user.email, "ui", client_ip(request) if request else None)
    audit.write(action="logout", object_type="tenants.user", object_id=user.pk, object_repr=user.email, actor=actor)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    label = str(credentials.get("username", ""))[:254] or "unknown"
    actor = audit.Actor(None, label, "ui", client_ip(request) if request else None)
    audit.write(action="login_failed", object_type="tenants.user", object_repr=label, actor=actor)
