"""The people of an MSP and what each may do in a tenant.

Access is decided by capability, not by a linear rank: a client owner may sign
off patches for their company, which a technician may not do for them, while a
technician may manage sites, which a client owner may not.
"""

from __future__ import annotations

from django.db import models

__all__ = ["CAPABILITIES", "MspRole", "Role", "TenantRole", "role_can"]


class MspRole(models.TextChoices):
    NONE = "", "Client user"
    ADMIN = "msp_admin", "MSP admin"
    TECHNICIAN = "technician", "Technician"


class TenantRole(models.TextChoices):
    """Roles a membership can grant in one tenant."""

    TECHNICIAN = "technician", "Technician"
    CLIENT_OWNER = "client_owner", "Client owner"
    CLIENT_VIEWER = "client_viewer", "Client viewer"


class Role(models.TextChoices):
    """The effective role of a user in a tenant."""

    MSP_ADMIN = "msp_admin", "MSP admin"
    TECHNICIAN = "technician", "Technician"
    CLIENT_OWNER = "client_owner", "Client owner"
    CLIENT_VIEWER = "client_viewer", "Client viewer"


_ALL = frozenset(Role)
_STAFF = frozenset({Role.MSP_ADMIN, Role.TECHNICIAN})
_ADMIN = frozenset({Role.MSP_ADMIN})
_STAFF_AND_OWNER = _STAFF | {Role.CLIENT_OWNER}

# Other apps register their capabilities here through `register_capabilities` at import.
CAPABILITIES: dict[str, frozenset[str]] = {
    "tenant.view": _ALL,
    "tenant.audit": _STAFF_AND_OWNER,
    "tenant.manage": _ADMIN,
    "site.manage": _STAFF,
    "member.view": _STAFF_AND_OWNER,
    "member.manage": _ADMIN,
}

ROLE_SETS = {"all": _ALL, "staff": _STAFF, "admin": _ADMIN, "staff_and_owner": _STAFF_AND_OWNER}


def register_capabilities(mapping: dict[str, frozenset[str]]) -> None:
    for name, roles in mapping.items():
        if name in CAPABILITIES and CAPABILITIES[name] != roles:
            raise ValueError(f"capability {name} registered twice with different roles")
        CAPABILITIES[name] = frozenset(roles)


def role_can(role: str | None, capability: str) -> bool:
    if role is None:
        return False
    try:
        return role in CAPABILITIES[capability]
    except KeyError:
        raise KeyError(f"unknown capability {capability!r}") from None
