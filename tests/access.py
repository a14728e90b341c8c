"""Table-driven access checks: an outsider gets 404, a too-low role 403, an allowed role neither.

Each app's test module lists its routes as `Route`s; `check_route` runs one persona
against one route. `tests/tenants/test_access_matrix.py` also fails when a URL pattern
exists that no table lists, so a new view cannot ship without its access test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse

from tenants.roles import CAPABILITIES, Role

# Personas of tests.fixtures.personas.World and their role in tenant A (None: outsider).
PERSONAS = {
    "msp_admin": Role.MSP_ADMIN,
    "tech_all": Role.TECHNICIAN,
    "tech_a": Role.TECHNICIAN,
    "owner_a": Role.CLIENT_OWNER,
    "viewer_a": Role.CLIENT_VIEWER,
    "owner_b": None,
    "viewer_b": None,
}


@dataclass(frozen=True)
class Route:
    """One URL in tenant A (or MSP-wide), the method, and what it needs.

    `capability`: needed in tenant A. `staff`/`admin`: MSP-wide pages for staff or admins.
    `kwargs(world)` builds the URL arguments; `data(world)` the request body.
    """

    name: str
    method: str = "get"
    capability: str | None = None
    kwargs: Callable = field(default=lambda w: {"tenant_slug": w.tenant_a.slug})
    data: Callable = field(default=lambda w: {})
    admin: bool = False
    staff: bool = False
    api: bool = False
    # For MSP-wide API lists: the capability that must be held in some tenant.
    anywhere: str | None = None

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.name}"

    def url(self, world) -> str:
        return reverse(self.name, kwargs=self.kwargs(world))

    def expected(self, persona: str) -> str:
        role = PERSONAS[persona]
        if self.admin:
            return "allow" if persona == "msp_admin" else "forbid"
        if self.staff:
            return "allow" if persona in ("msp_admin", "tech_all", "tech_a") else "forbid"
        if self.anywhere:
            holds = role is not None and role in CAPABILITIES[self.anywhere]
            other = persona in ("owner_b", "viewer_b") and _role_b(persona) in CAPABILITIES[self.anywhere]
            return "allow" if holds or other else "forbid"
        if self.capability is None:
            return "allow"
        if role is None:
            return "hide"
        return "allow" if role in CAPABILITIES[self.capability] else "forbid"


def _role_b(persona):
    return {"owner_b": Role.CLIENT_OWNER, "viewer_b": Role.CLIENT_VIEWER}[persona]


def check_route(client, world, route: Route, persona: str):
    from tests.fixtures.personas import sign_in

    sign_in(client, world.user(persona))
    url = route.url(world)
    body = route.data(world)
    if route.api:
        response = getattr(client, route.method)(url, body, content_type="application/json")
    else:
        response = getattr(client, route.method)(url, body)
    expected = route.expected(persona)
    status = response.status_code
    if expected == "hide":
        assert status == 404, f"{persona} outside the tenant got {status} for {route.id}, expected 404"
    elif expected == "forbid":
        assert status == 403, f"{persona} got {status} for {route.id}, expected 403"
    else:
        assert status not in (401, 403, 404, 405, 500), f"{persona} got {status} for {route.id}, expected access"
    return response
