"""Accepted risks: the findings they cover are `accepted` (not hidden) until they expire or are revoked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from patches.matching import engine
from patches.models import Finding, RiskException
from patches.risk_acceptance import accept_risk, apply_exceptions, revoke
from tenants.models import AuditEntry
from tests.patches.test_matching import NOW, debian, osv, pkg, publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def exposed(world):
    publish(
        osv("DSA-9001-1", "openssl", "3.0.15-1~deb12u1"),
        osv("DSA-9002-1", "curl", "7.88.1-10+deb12u8", cves=("CVE-2099-0002",)),
    )
    packages = [pkg("libssl3", "3.0.14-1", "openssl"), pkg("curl", "7.88.1-10+deb12u5")]
    return debian(world.tenant_a, "a-web", packages), debian(world.tenant_a, "a-db", packages)


def states(device):
    return dict(Finding.objects.filter(device=device).values_list("reference", "state"))


def accept(world, **target):
    return accept_risk(
        tenant=world.tenant_a,
        owner=world.owner_a,
        reason="Air-gapped; replaced next quarter",
        expires_on=dt.date(2026, 12, 31),
        user=world.tech_all,
        now=NOW,
        **target,
    )


def test_one_finding(world, exposed):
    web, db = exposed
    accept(world, finding=Finding.objects.get(device=web, reference="DSA-9001-1"))
    assert states(web) == {"DSA-9001-1": "accepted", "DSA-9002-1": "open"}
    assert states(db) == {"DSA-9001-1": "open", "DSA-9002-1": "open"}


def test_a_device(world, exposed):
    web, db = exposed
    accept(world, device=web)
    assert states(web) == {"DSA-9001-1": "accepted", "DSA-9002-1": "accepted"}
    assert set(states(db).values()) == {"open"}


def test_an_advisory_across_the_tenant(world, exposed):
    web, db = exposed
    accept(world, advisory=Finding.objects.filter(reference="DSA-9002-1").first().advisory)
    assert states(web)["DSA-9002-1"] == states(db)["DSA-9002-1"] == "accepted"
    assert states(web)["DSA-9001-1"] == "open"


def test_it_expires_at_the_end_of_its_day_in_the_tenants_zone(world, exposed):
    web, _ = exposed
    accept(world, device=web)
    end_of_year_berlin = dt.datetime(2026, 12, 31, 23, tzinfo=dt.UTC)  # midnight on Jan 1st in Berlin
    assert apply_exceptions(end_of_year_berlin - dt.timedelta(seconds=1)) == (0, 0)
    assert apply_exceptions(end_of_year_berlin) == (0, 2)
    assert set(states(web).values()) == {"open"}


def test_revoking_reopens_and_is_audited(world, exposed):
    web, _ = exposed
    exception = accept(world, device=web)
    revoke(exception, user=world.tech_all, now=NOW)
    assert set(states(web).values()) == {"open"}
    exception.refresh_from_db()
    assert exception.revoked_by == world.tech_all
    actions = list(
        AuditEntry.objects.filter(object_type="patches.riskexception", object_id=str(exception.pk)).values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["create", "update"]
    with pytest.raises(ValidationError):
        revoke(exception, user=world.tech_all, now=NOW)


def test_matching_keeps_the_findings_accepted(world, exposed):
    web, _ = exposed
    accept(world, device=web)
    engine.match_devices([web.pk], now=NOW)
    engine.match_everything(now=NOW)
    assert set(states(web).values()) == {"accepted"}


def test_a_fixed_finding_is_fixed_whatever_was_accepted(world, exposed):
    from devices.inventory import apply_inventory

    web, _ = exposed
    accept(world, device=web)
    apply_inventory(web, "dpkg", [pkg("libssl3", "3.0.15-1~deb12u1", "openssl"), pkg("curl", "7.88.1-10+deb12u5")])
    engine.match_devices([web.pk], now=NOW)
    assert states(web) == {"DSA-9001-1": "fixed", "DSA-9002-1": "accepted"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": " "}, "reason"),
        ({"expires_on": dt.date(2026, 11, 21)}, "expires_on"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(world, exposed, change, message):
    web, _ = exposed
    values = {
        "tenant": world.tenant_a,
        "owner": world.owner_a,
        "reason": "Accepted",
        "expires_on": dt.date(2026, 12, 31),
        "user": world.tech_all,
        "now": NOW,
        "device": web,
        **change,
    }
    with pytest.raises(ValidationError) as error:
        accept_risk(**values)
    assert message in error.value.message_dict
    assert not RiskException.objects.exists()


def test_a_target_of_another_tenant_is_refused(world, exposed):
    other = debian(world.tenant_b, "b-web", [pkg("curl", "7.88.1-10+deb12u5")])
    with pytest.raises(ValidationError):
        accept(world, device=other)


def test_accepted_findings_are_not_counted_as_open_in_compliance(world, exposed):
    from patches.compliance import take_snapshots
    from patches.models import ComplianceSnapshot

    def open_count(device) -> int:
        s = ComplianceSnapshot.objects.get(device=device, day=NOW.date())
        return s.open_critical + s.open_high + s.open_medium + s.open_low + s.open_unknown

    web, db = exposed
    accept(world, device=web)
    take_snapshots(NOW.date(), NOW)
    assert (open_count(web), open_count(db)) == (0, 2)
