"""The demo's rings and windows: created once, and real schedules the calendar can show."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from deployments.models import MaintenanceWindow, Ring
from deployments.windows import next_opening, patch_tuesday
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_the_demo_rollout_plan_is_seeded_once():
    call_command("seed_demo", "--json")
    call_command("seed_demo_rollout")
    call_command("seed_demo_rollout")
    assert Ring.objects.count() == 9
    assert sorted(Ring.objects.filter(tenant__slug="contoso").values_list("name", flat=True)) == [
        "Broad",
        "Early",
        "Pilot",
    ]
    assert MaintenanceWindow.objects.count() == 5

    contoso = Tenant.objects.get(slug="contoso")
    after = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    opening = next_opening(contoso, after=after)
    local = opening.starts_at.astimezone(contoso.time_zone)
    assert local.date() == patch_tuesday(2026, 12) + dt.timedelta(days=3)
    assert local.time() == dt.time(20, 0)
