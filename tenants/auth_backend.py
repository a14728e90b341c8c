"""Log in by e-mail; client users of deactivated tenants are refused."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from portal.db_scope import system_scope


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        email = (username or kwargs.get("email") or "").strip().lower()
        return super().authenticate(request, username=email, password=password, **kwargs)

    def user_can_authenticate(self, user) -> bool:
        # Checked at login and on every request that loads the user from the session,
        # so deactivating a tenant also ends its users' open sessions.
        if not super().user_can_authenticate(user):
            return False
        if user.is_msp_staff:
            return True
        with system_scope():
            return user.memberships.filter(tenant__is_active=True, tenant__archived_at__isnull=True).exists()

    # ModelBackend's permission methods look at Django's permission tables, which we do not use.
    def get_all_permissions(self, user_obj, obj=None):
        return set()
