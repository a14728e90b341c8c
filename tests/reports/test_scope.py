"""Snapshot builders read in the caller's scope: tenant B's scope never yields tenant A's data."""

from __future__ import annotations

import pytest

from portal.db_scope import tenant_scope
from reports.models import Report
from reports.services import ReportError, build_snapshot, create_report
from reports.snapshots import deployment as deployment_snapshot
from reports.snapshots import monthly
from tests.reports.helpers import KEV_CVE, NOW, PERIOD, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def test_monthly_in_tenant_b_scope_shows_nothing_of_tenant_a(world):
    with tenant_scope([world.tenant_b.pk]):
        data = monthly.build(world.tenant_a, *PERIOD, NOW)
    text = str(data)
    assert data["compliance"]["devices"] == 0 and data["top_findings"] == [] and data["trend"] == []
    assert data["installed"]["jobs"] == 0 and data["accepted"] == {"exceptions": [], "findings": 0}
    for host in world.hosts_a:
        assert host not in text


def test_deployment_in_tenant_b_scope_shows_no_jobs_of_tenant_a(world):
    with tenant_scope([world.tenant_b.pk]):
        data = deployment_snapshot.build(world.deployment, NOW)
    assert data["devices"] == [] and data["summary"]["verified"] == 0
    assert all(v["devices_fixed"] == 0 for v in data["vulnerabilities"])


def test_a_deployment_id_of_another_tenant_finds_nothing(world):
    with tenant_scope([world.tenant_b.pk]), pytest.raises(ReportError):
        build_snapshot(world.tenant_b, "deployment", now=NOW, deployment_id=world.deployment.pk)
    with tenant_scope([world.tenant_b.pk]), pytest.raises(ReportError):
        build_snapshot(world.tenant_a, "deployment", now=NOW, deployment_id=world.deployment.pk)


def test_each_tenant_sees_its_own_data_and_reports(world):
    with tenant_scope([world.tenant_a.pk]):
        report_a = create_report(world.tenant_a, "monthly", now=NOW, start=PERIOD[0], end=PERIOD[1])
        assert report_a.data["compliance"]["devices"] == 23
        assert "bravo-secret-host" not in str(report_a.data)
    with tenant_scope([world.tenant_b.pk]):
        report_b = create_report(world.tenant_b, "monthly", now=NOW, start=PERIOD[0], end=PERIOD[1])
        assert [f["hostname"] for f in report_b.data["top_findings"]] == ["bravo-secret-host"]
        assert not Report.objects.filter(pk=report_a.pk).exists()  # row-level security on reports
        data = build_snapshot(world.tenant_b, "deployment", now=NOW, deployment_id=world.deployment_b.pk)[0]
        assert [d["hostname"] for d in data["devices"]] == ["bravo-secret-host"]
        assert KEV_CVE in [v["cve"] for v in data["vulnerabilities"]]
