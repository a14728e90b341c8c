"""Every policy, accepted-risk and script page and REST endpoint, for every persona."""

from __future__ import annotations

import pytest

from devices.models import Device, DeviceGroup
from patches.models import Finding, PatchPolicy, RiskException, Scope, Script
from patches.policy import FIELDS
from tests.access import PERSONAS, Route, check_route
from tests.patches.policy_helpers import later, setup  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

NONE = lambda w: {}  # noqa: E731


def policy_data(w):
    """Every setting inherited but one, as the editor posts it."""
    data = {f"mode_{key}": "inherit" for key in FIELDS}
    return {**data, "mode_deadline_days": "set", "deadline_days": "4", "rule_rows": "0", "priority": "1"}


def site(w):
    return {"tenant_slug": w.tenant_a.slug, "pk": w.site_a.pk}


def group(w):
    return {"tenant_slug": w.tenant_a.slug, "pk": DeviceGroup.objects.get(name="Servers").pk}


def device(w):
    return {"tenant_slug": w.tenant_a.slug, "uid": Device.objects.get(hostname="alpha-web").uid}


def exception(w):
    return {"tenant_slug": w.tenant_a.slug, "pk": RiskException.objects.get().pk}


def new_exception(w):
    other = Finding.objects.get(package_name="curl")
    return {
        "covers": "finding",
        "finding": other.pk,
        "owner": w.owner_a.pk,
        "reason": "Vendor fix pending",
        "expires_on": later(w.tenant_a).isoformat(),
    }


def script(w):
    return {"pk": Script.objects.get().pk}


def script_version(w):
    return {"pk": Script.objects.get().pk, "number": 1}


SCRIPT = lambda w: {"name": "Drain", "interpreter": "sh", "body": "echo drain\n", "note": "x"}  # noqa: E731
EDITED_SCRIPT = lambda w: {"name": "Stop services", "interpreter": "bash", "body": "echo 3\n", "base_version": 2}  # noqa: E731


# REST API
def api_tenant_policy(w):
    return {"pk": PatchPolicy.objects.get(scope=Scope.TENANT).pk}


def api_global_policy(w):
    return {"pk": PatchPolicy.objects.get(scope=Scope.GLOBAL).pk}


def api_exception(w):
    return {"pk": RiskException.objects.get().pk}


def api_new_exception(w):
    return {
        "tenant": w.tenant_a.slug,
        "finding": Finding.objects.get(package_name="curl").pk,
        "owner": w.owner_a.email,
        "reason": "Vendor fix pending",
        "expires_on": later(w.tenant_a).isoformat(),
    }


def effective_query(w):
    return {"device": device(w)["uid"]}


def site_policy_body(w):
    return {"tenant": w.tenant_a.slug, "scope": "site", "site": w.site_a.pk, "settings": {"reboot": "never"}}


GLOBAL_POLICY = lambda w: {"scope": "global", "settings": {"deadline_days": 3}}  # noqa: E731

ROUTES = [
    # Policy pages
    Route("policy_list", kwargs=NONE, staff=True),
    Route("policy_global", kwargs=NONE, staff=True),
    Route("policy_global", "post", kwargs=NONE, admin=True, data=policy_data),
    Route("tenant_policy", capability="policy.view"),
    Route("tenant_policy", "post", capability="policy.manage", data=policy_data),
    Route("site_policy", kwargs=site, capability="policy.view"),
    Route("site_policy", "post", kwargs=site, capability="policy.manage", data=policy_data),
    Route("group_policy", kwargs=group, capability="policy.view"),
    Route("group_policy", "post", kwargs=group, capability="policy.manage", data=policy_data),
    Route("device_policy", kwargs=device, capability="policy.view"),
    Route("device_policy", "post", kwargs=device, capability="policy.manage", data=policy_data),
    # Accepted risks
    Route("exception_list", capability="exception.view"),
    Route("exception_create", capability="exception.manage"),
    Route("exception_create", "post", capability="exception.manage", data=new_exception),
    Route("exception_revoke", "post", kwargs=exception, capability="exception.manage"),
    # Scripts
    Route("script_list", kwargs=NONE, staff=True),
    Route("script_create", kwargs=NONE, admin=True),
    Route("script_create", "post", kwargs=NONE, admin=True, data=SCRIPT),
    Route("script_detail", kwargs=script, staff=True),
    Route("script_edit", kwargs=script, admin=True),
    Route("script_edit", "post", kwargs=script, admin=True, data=EDITED_SCRIPT),
    Route("script_version", kwargs=script_version, staff=True),
    Route("script_diff", kwargs=script, staff=True),
    # REST API: policies
    Route("policy-list", kwargs=NONE, api=True, anywhere="policy.view"),
    Route("policy-list", "post", kwargs=NONE, capability="policy.manage", api=True, data=site_policy_body),
    # The global policy exists already: the admin is let through to the 400 that says so.
    GLOBAL_CREATE := Route("policy-list", "post", kwargs=NONE, admin=True, api=True, data=GLOBAL_POLICY),
    Route("policy-detail", kwargs=api_tenant_policy, capability="policy.view", api=True),
    Route(
        "policy-detail",
        "patch",
        kwargs=api_tenant_policy,
        capability="policy.manage",
        api=True,
        data=lambda w: {"settings": {"deadline_days": 2}},
    ),
    Route("policy-detail", "delete", kwargs=api_tenant_policy, capability="policy.manage", api=True),
    Route("policy-detail", kwargs=api_global_policy, staff=True, api=True),
    Route(
        "policy-detail",
        "patch",
        kwargs=api_global_policy,
        admin=True,
        api=True,
        data=lambda w: {"settings": {"deadline_days": 2}},
    ),
    Route("policy-effective", kwargs=NONE, capability="policy.view", api=True, data=effective_query),
    # REST API: accepted risks
    Route("riskexception-list", kwargs=NONE, api=True, anywhere="exception.view"),
    Route("riskexception-list", "post", kwargs=NONE, capability="exception.manage", api=True, data=api_new_exception),
    Route("riskexception-detail", kwargs=api_exception, capability="exception.view", api=True),
    Route("riskexception-revoke", "post", kwargs=api_exception, capability="exception.manage", api=True),
    # REST API: scripts
    Route("script-list", kwargs=NONE, staff=True, api=True),
    Route("script-list", "post", kwargs=NONE, admin=True, api=True, data=SCRIPT),
    Route("script-detail", kwargs=script, staff=True, api=True),
    Route("script-detail", "patch", kwargs=script, admin=True, api=True, data=lambda w: {"body": "echo 3\n"}),
    Route("script-detail", "put", kwargs=script, admin=True, api=True, data=EDITED_SCRIPT),
    Route("script-versions", kwargs=script, staff=True, api=True),
]


@pytest.mark.parametrize("persona", list(PERSONAS))
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_access(client, world, setup, route, persona):  # noqa: F811
    response = check_route(client, world, route, persona)
    if route.expected(persona) == "allow" and route.method != "get" and route is not GLOBAL_CREATE:
        # An allowed write did what it was asked, not a validation error.
        assert response.status_code < 400, (route.id, persona, response.status_code, response.content[:500])
