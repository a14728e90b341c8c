"""Findings as rows: set-based SQL from PackageMatch, installed software and offered updates.

`materialize(scope, now)` brings the findings of a scope (every device, some devices, or the
devices some advisories touch) in line with the current matches:

1. the current package findings of the scope go into a temporary table (one SQL join of
   installed software with PackageMatch);
2. new ones are inserted, fixed ones that came back are reopened, and open ones that are no
   longer current are marked fixed with the time;
3. Windows findings likewise, from offered updates that nothing offered or installed supersedes;
4. KEV, EPSS, CVSS and severity are copied from the CVEs where they changed, and VEX
   `not_affected` statements suppress what they cover;
5. findings that became open and KEV-listed are announced per tenant once the transaction
   commits (patches.signals.kev_findings_opened; deployments turns them into alerts).

Findings are scored as they are written (inserted, reopened, re-enriched); the daily rescore
moves every open score with the clock.

No Python loop touches a device or a finding.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction

from devices.models import Criticality
from patches.catalogue import sync_offered_patches

__all__ = ["Scope", "materialize", "refresh_intel"]


@dataclass(frozen=True)
class Scope:
    device_ids: tuple[int, ...] | None = None
    advisory_ids: tuple[int, ...] | None = None
    cves: tuple[str, ...] | None = None  # findings naming any of these CVEs (KEV/EPSS/NVD changes)
    kbs: bool = False  # Windows findings only matter when updates or KBs changed

    @classmethod
    def everything(cls) -> Scope:
        return cls(kbs=True)

    def filter(
        self, device_column: str, advisory_column: str | None = None, cves_column: str | None = None
    ) -> tuple[str, list]:
        clauses, params = [], []
        if self.cves is not None and cves_column:
            clauses.append(f"{cves_column} && %s::varchar[]")
            params.append(list(self.cves))
        if self.device_ids is not None:
            clauses.append(f"{device_column} = ANY(%s)")
            params.append(list(self.device_ids))
        if self.advisory_ids is not None and advisory_column:
            clauses.append(f"{advisory_column} = ANY(%s)")
            params.append(list(self.advisory_ids))
        return (" AND " + " AND ".join(clauses) if clauses else ""), params


def refresh_intel(scope: Scope, now) -> None:
    """After KEV, EPSS or NVD changed: copy the new values and rescore, nothing else."""
    with connection.cursor() as cursor:
        _tune(cursor)
        _remember_open_kev(cursor, scope)
        _enrich(cursor, scope, now)
        _score(cursor, scope, now)
        _announce_opened_kev(cursor, scope, now)


# A retired device keeps its findings as they were (reports still show its history). Asked as
# "not retired" rather than "active", so the planner hashes the few retired devices.
RETIRED_DEVICE = "SELECT 1 FROM devices_device r WHERE r.id = f.device_id AND r.retired_at IS NOT NULL"

# Per advisory: the worst KEV/EPSS/CVSS over its CVEs (the advisory's own CVSS as fallback).
ADVISORY_INTEL = """
    SELECT a.id AS advisory_id, a.advisory_id AS reference, a.cves,
           coalesce(bool_or(k.cve_id IS NOT NULL), false) AS kev,
           min(k.due_date) AS kev_due,
           coalesce(bool_or(lower(k.ransomware) = 'known'), false) AS ransomware,
           max(e.score) AS epss,
           coalesce(max(coalesce(c.cvss3_score, c.cvss4_score)), a.cvss_score) AS cvss,
           patches_severity(coalesce(max(coalesce(c.cvss3_score, c.cvss4_score)), a.cvss_score), a.severity)
               AS severity
    FROM ({advisories}) AS wanted(id)
    JOIN advisories_advisory a ON a.id = wanted.id
    LEFT JOIN LATERAL unnest(a.cves) AS cve(id) ON true
    LEFT JOIN advisories_keventry k ON k.cve_id = cve.id
    LEFT JOIN advisories_epssscore e ON e.cve_id = cve.id
    LEFT JOIN advisories_cve c ON c.cve_id = cve.id
    GROUP BY a.id
"""


class _Steps:
    """Seconds spent per step of a materialisation, for the benchmark and the logs."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        started = time.perf_counter()
        yield
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 3)


steps = _Steps()


def _execute(cursor, sql: str, params) -> int:
    cursor.execute(sql, params)
    return cursor.rowcount


def _tune(cursor) -> None:
    # Large joins and sorts: memory instead of temporary files, and no JIT compilation,
    # which costs more than it saves on statements that run once.
    cursor.execute("SET LOCAL work_mem = '256MB'")
    cursor.execute("SET LOCAL jit = off")


def materialize(scope: Scope, now) -> dict:
    stats = {}
    steps.seconds = {}
    with connection.cursor() as cursor:
        _tune(cursor)
        with steps("kev"):
            _remember_open_kev(cursor, scope)
        stats.update(_package_findings(cursor, scope, now))
        if scope.kbs or scope.device_ids is not None:
            with steps("windows"):
                sync_offered_patches(cursor, scope.device_ids)
                stats.update(_windows_findings(cursor, scope, now))
        with steps("enrich"):
            _enrich(cursor, scope, now, packages=stats["had_findings"])
        with steps("vex"):
            stats["suppressed"] = _apply_vex(cursor, scope)
        with steps("exceptions"):
            _apply_exceptions(scope, now)
        if scope.device_ids is not None:
            # New, reopened and re-enriched findings were scored as they were written; a
            # device's criticality may have changed, which touches only its own findings.
            with steps("score"):
                _score(cursor, scope, now)
        with steps("kev"):
            stats["kev_opened"] = _announce_opened_kev(cursor, scope, now)
        for table in ("current_findings", "advisory_intel", "new_finding_scores"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
    stats["seconds"] = dict(steps.seconds)
    return stats


def _package_findings(cursor, scope: Scope, now) -> dict:
    where, params = scope.filter("ds.device_id", "pm.advisory_id")
    where_f, params_f = scope.filter("f.device_id", "f.advisory_id")
    cursor.execute("DROP TABLE IF EXISTS current_findings")
    with steps("current"):
        cursor.execute(
            f"""
            CREATE TEMP TABLE current_findings ON COMMIT DROP AS
            -- Installed versions that some advisory covers first (a few percent of all rows),
            -- then their devices: the planner is held to that order.
            WITH matched AS MATERIALIZED (
                SELECT ds.tenant_id, ds.device_id, ds.package_id, pm.advisory_id, pm.fixed_version, pm.esm_only,
                       pm.patch_id
                FROM devices_devicesoftware ds
                JOIN patches_packagematch pm ON pm.package_id = ds.package_id
                WHERE true {where}
            )
            SELECT DISTINCT ON (m.device_id, m.advisory_id, m.package_id)
                   m.tenant_id, m.device_id, m.advisory_id, m.package_id, m.fixed_version, m.patch_id
            FROM matched m JOIN devices_device d ON d.id = m.device_id
            WHERE d.retired_at IS NULL AND (NOT m.esm_only OR d.ubuntu_pro)
            ORDER BY m.device_id, m.advisory_id, m.package_id, m.esm_only, m.fixed_version
            """,
            params,
        )
        cursor.execute("ANALYZE current_findings")
    with steps("intel"):
        # What each advisory's CVEs are known for (KEV, EPSS, CVSS), once per advisory, and
        # the score and label a new finding of it gets on a device of each criticality.
        cursor.execute("DROP TABLE IF EXISTS advisory_intel")
        intel = ADVISORY_INTEL.format(advisories="SELECT DISTINCT advisory_id FROM current_findings")
        cursor.execute(f"CREATE TEMP TABLE advisory_intel ON COMMIT DROP AS {intel}")
        cursor.execute("DROP TABLE IF EXISTS new_finding_scores")
        cursor.execute(
            """
            CREATE TEMP TABLE new_finding_scores ON COMMIT DROP AS
            SELECT i.advisory_id, crit.value AS criticality,
                   patches_risk_score(i.kev, i.kev_due, i.ransomware, i.epss, i.cvss, i.severity, crit.value,
                                      %s, %s) AS score,
                   patches_ssvc_label(i.kev, i.epss, i.cvss, i.severity, crit.value) AS label
            FROM advisory_intel i CROSS JOIN unnest(%s::text[]) AS crit(value)
            """,
            [now, now, list(Criticality.values)],
        )
    # The finding identity index: (advisory, device, package, update).
    same_finding = """f.advisory_id = c.advisory_id AND f.device_id = c.device_id
                      AND f.package_id = c.package_id AND f.update_id IS NULL"""
    # A scope without package findings yet (a new advisory, a new device) has nothing to
    # reopen or close, and everything current is new.
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM patches_finding f WHERE f.kind = 'package' {where_f})", params_f)
    (existing,) = cursor.fetchone()
    reopened = closed = 0
    if existing:
        with steps("current"):
            cursor.execute("CREATE INDEX ON current_findings (advisory_id, device_id, package_id)")
        with steps("reopen"):
            reopened = _execute(
                cursor,
                f"""
                UPDATE patches_finding f SET state = 'open', fixed_at = NULL, fixed_version = c.fixed_version,
                       patch_id = c.patch_id, evaluated_at = %s,
                       score = patches_risk_score(f.kev, f.kev_due, f.ransomware, f.epss, f.cvss, f.severity,
                                                  d.criticality, f.first_seen_at, %s)
                FROM current_findings c JOIN devices_device d ON d.id = c.device_id
                WHERE {same_finding} {where_f}
                  AND (f.state = 'fixed' OR f.fixed_version IS DISTINCT FROM c.fixed_version
                       OR f.patch_id IS DISTINCT FROM c.patch_id)
                """,
                [now, now, *params_f],
            )
        with steps("close"):
            closed = _execute(
                cursor,
                f"""
                UPDATE patches_finding f SET state = 'fixed', fixed_at = %s, evaluated_at = %s
                WHERE f.kind = 'package' AND f.state <> 'fixed' {where_f}
                  AND NOT EXISTS (SELECT 1 FROM current_findings c WHERE {same_finding})
                  AND NOT EXISTS ({RETIRED_DEVICE})
                """,
                [now, now, *params_f],
            )
    # The scope's filter is repeated inside so the planner looks up only the scope's findings.
    new_only = f"WHERE NOT EXISTS (SELECT 1 FROM patches_finding f WHERE {same_finding} {where_f})" if existing else ""
    with steps("insert"):
        # New findings arrive complete: intel, severity, score and label in the same statement.
        inserted = _execute(
            cursor,
            f"""
            INSERT INTO patches_finding (tenant_id, device_id, kind, advisory_id, package_id, update_id, patch_id,
                reference, package_name, source_package, installed_version, fixed_version, cves, severity, kev,
                kev_due, ransomware, epss, cvss, score, label, state, first_seen_at, evaluated_at)
            SELECT c.tenant_id, c.device_id, 'package', c.advisory_id, c.package_id, NULL, c.patch_id, i.reference,
                   p.name, coalesce(nullif(p.source_name, ''), p.name), p.version, c.fixed_version, i.cves,
                   i.severity, i.kev, i.kev_due, i.ransomware, i.epss, i.cvss, s.score, s.label, 'open', %s, %s
            FROM current_findings c
            JOIN advisory_intel i ON i.advisory_id = c.advisory_id
            JOIN devices_softwarepackage p ON p.id = c.package_id
            JOIN devices_device d ON d.id = c.device_id
            JOIN new_finding_scores s ON s.advisory_id = c.advisory_id AND s.criticality = d.criticality
            {new_only}
            -- In identity order: the rows of one advisory go into the index side by side.
            ORDER BY c.advisory_id, c.device_id, c.package_id
            """,
            [now, now, *(params_f if existing else [])],
        )
    return {"inserted": inserted, "reopened": reopened, "fixed": closed, "had_findings": existing}


# Classifications whose offered updates count as missing patches (drivers, feature packs and
# definition updates are not vulnerabilities) unless Microsoft's CVRF lists CVEs for the KB.
SECURITY_CLASSIFICATIONS = ["Security Updates", "Critical Updates", "Update Rollups"]


def _windows_findings(cursor, scope: Scope, now) -> dict:
    where, params = scope.filter("du.device_id")
    cursor.execute("DROP TABLE IF EXISTS current_windows")
    # An offered update is missing unless another update on the same device (offered or
    # installed) supersedes it, by WUA's own SupersededUpdateIDs or by the CVRF's KB chain.
    cursor.execute(
        f"""
        CREATE TEMP TABLE current_windows ON COMMIT DROP AS
        SELECT du.tenant_id, du.device_id, du.update_id, u.kb, k.cves AS kb_cves, k.severity AS kb_severity,
               u.severity AS wua_severity
        FROM devices_deviceupdate du
        JOIN devices_update u ON u.id = du.update_id AND u.kind = 'windows'
        JOIN devices_device d ON d.id = du.device_id AND d.retired_at IS NULL
        LEFT JOIN advisories_windowskb k ON k.kb = regexp_replace(u.kb, '^KB', '')
        WHERE NOT du.installed {where}
          AND (u.classification = ANY(%s) OR u.security OR cardinality(k.cves) > 0)
          AND NOT EXISTS (
            SELECT 1 FROM devices_deviceupdate other
            JOIN devices_update ou ON ou.id = other.update_id AND ou.kind = 'windows'
            LEFT JOIN advisories_windowskb ok ON ok.kb = regexp_replace(ou.kb, '^KB', '')
            WHERE other.device_id = du.device_id AND ou.id <> u.id
              AND (u.identifier = ANY(ou.supersedes)
                   OR (u.kb <> '' AND regexp_replace(u.kb, '^KB', '') = ANY(ok.supersedes)))
          )
        """,
        [*params, SECURITY_CLASSIFICATIONS],
    )
    inserted = _execute(
        cursor,
        """
        INSERT INTO patches_finding (tenant_id, device_id, kind, advisory_id, package_id, update_id, patch_id,
            reference, package_name, source_package, installed_version, fixed_version, cves, severity, kev,
            ransomware, cvss, score, label, state, first_seen_at, evaluated_at)
        SELECT w.tenant_id, w.device_id, 'windows', NULL, NULL, w.update_id, pu.patch_id,
               coalesce(nullif(w.kb, ''), u.identifier), u.title, '', '', coalesce(nullif(w.kb, ''), u.version),
               coalesce(w.kb_cves, '{}'), s.severity, false, false, NULL,
               patches_risk_score(false, NULL, false, NULL, NULL, s.severity, d.criticality, %s, %s),
               patches_ssvc_label(false, NULL, NULL, s.severity, d.criticality), 'open', %s, %s
        FROM current_windows w
        JOIN devices_update u ON u.id = w.update_id
        JOIN devices_device d ON d.id = w.device_id
        LEFT JOIN patches_patchupdate pu ON pu.update_id = w.update_id
        CROSS JOIN LATERAL (
            SELECT lower(CASE coalesce(nullif(w.kb_severity, ''), w.wua_severity)
                         WHEN 'Important' THEN 'high' WHEN 'Moderate' THEN 'medium'
                         ELSE coalesce(nullif(w.kb_severity, ''), w.wua_severity) END) AS severity
        ) s
        WHERE NOT EXISTS (
            SELECT 1 FROM patches_finding f WHERE f.device_id = w.device_id AND f.update_id = w.update_id
        )
        """,
        [now, now, now, now],
    )
    reopened = _execute(
        cursor,
        """
        UPDATE patches_finding f SET state = 'open', fixed_at = NULL, evaluated_at = %s,
               cves = coalesce(w.kb_cves, '{}'),
               score = patches_risk_score(f.kev, f.kev_due, f.ransomware, f.epss, f.cvss, f.severity,
                                          d.criticality, f.first_seen_at, %s)
        FROM current_windows w JOIN devices_device d ON d.id = w.device_id
        WHERE f.device_id = w.device_id AND f.update_id = w.update_id
          AND (f.state = 'fixed' OR f.cves IS DISTINCT FROM coalesce(w.kb_cves, '{}'))
        """,
        [now, now],
    )
    where_f, params_f = scope.filter("f.device_id")
    closed = _execute(
        cursor,
        f"""
        UPDATE patches_finding f SET state = 'fixed', fixed_at = %s, evaluated_at = %s
        WHERE f.kind = 'windows' AND f.state <> 'fixed' {where_f}
          AND NOT EXISTS (SELECT 1 FROM current_windows w WHERE w.device_id = f.device_id
                          AND w.update_id = f.update_id)
          AND NOT EXISTS ({RETIRED_DEVICE})
        """,
        [now, now, *params_f],
    )
    cursor.execute("DROP TABLE IF EXISTS current_windows")
    return {"windows_inserted": inserted, "windows_reopened": reopened, "windows_fixed": closed}


def _enrich(cursor, scope: Scope, now, packages: bool = True) -> None:
    """Copy KEV, EPSS, CVSS and severity onto open findings whose values differ, and rescore them.

    Package findings take their advisory's intel (computed once per advisory); Windows
    findings the intel of their KB's CVEs. `packages=False` when every package finding of the
    scope was just inserted, with the intel of now.
    """
    where, params = scope.filter("f.device_id", "f.advisory_id", "f.cves")
    if packages:
        _enrich_packages(cursor, where, params, now)
    _enrich_windows(cursor, where, params, now)


def _enrich_packages(cursor, where: str, params: list, now) -> None:
    advisories = f"SELECT DISTINCT f.advisory_id FROM patches_finding f WHERE f.kind = 'package' {where}"
    cursor.execute(
        f"""
        WITH intel AS ({ADVISORY_INTEL.format(advisories=advisories)})
        UPDATE patches_finding f SET kev = i.kev, kev_due = i.kev_due, ransomware = i.ransomware, epss = i.epss,
               cvss = i.cvss, severity = i.severity,
               score = patches_risk_score(i.kev, i.kev_due, i.ransomware, i.epss, i.cvss, i.severity,
                                          d.criticality, f.first_seen_at, %s),
               label = patches_ssvc_label(i.kev, i.epss, i.cvss, i.severity, d.criticality)
        FROM intel i, devices_device d
        WHERE f.advisory_id = i.advisory_id AND d.id = f.device_id AND f.state <> 'fixed' {where}
          AND (f.kev, f.kev_due, f.ransomware, f.epss, f.cvss, f.severity)
              IS DISTINCT FROM (i.kev, i.kev_due, i.ransomware, i.epss, i.cvss, i.severity)
        """,
        [*params, now, *params],
    )


def _enrich_windows(cursor, where: str, params: list, now) -> None:
    cursor.execute(
        f"""
        WITH keys AS (
            SELECT DISTINCT f.cves FROM patches_finding f WHERE f.kind = 'windows' AND f.state <> 'fixed' {where}
        ), intel AS (
            SELECT keys.cves,
                   coalesce(bool_or(k.cve_id IS NOT NULL), false) AS kev, min(k.due_date) AS kev_due,
                   coalesce(bool_or(lower(k.ransomware) = 'known'), false) AS ransomware,
                   max(e.score) AS epss, max(coalesce(c.cvss3_score, c.cvss4_score)) AS cvss
            FROM keys
            LEFT JOIN LATERAL unnest(keys.cves) AS cve(id) ON true
            LEFT JOIN advisories_keventry k ON k.cve_id = cve.id
            LEFT JOIN advisories_epssscore e ON e.cve_id = cve.id
            LEFT JOIN advisories_cve c ON c.cve_id = cve.id
            GROUP BY keys.cves
        )
        UPDATE patches_finding f SET kev = i.kev, kev_due = i.kev_due, ransomware = i.ransomware, epss = i.epss,
               cvss = i.cvss, severity = patches_severity(i.cvss, f.severity),
               score = patches_risk_score(i.kev, i.kev_due, i.ransomware, i.epss, i.cvss,
                                          patches_severity(i.cvss, f.severity), d.criticality, f.first_seen_at, %s),
               label = patches_ssvc_label(i.kev, i.epss, i.cvss, patches_severity(i.cvss, f.severity), d.criticality)
        FROM intel i, devices_device d
        WHERE f.kind = 'windows' AND f.cves = i.cves AND d.id = f.device_id AND f.state <> 'fixed' {where}
          AND (f.kev, f.kev_due, f.ransomware, f.epss, f.cvss)
              IS DISTINCT FROM (i.kev, i.kev_due, i.ransomware, i.epss, i.cvss)
        """,
        [*params, now, *params],
    )


def _apply_vex(cursor, scope: Scope) -> int:
    """Suppress findings whose every CVE the vendor declared not_affected for that package.

    Only findings of packages that some not_affected statement names are examined, so a fleet
    with few statements pays little for this step.
    """
    where, params = scope.filter("f.device_id", "f.advisory_id")
    cursor.execute("SELECT EXISTS (SELECT 1 FROM advisories_vexstatement WHERE status = 'not_affected')")
    (any_statement,) = cursor.fetchone()
    covered = """
        cardinality(f.cves) > 0 AND NOT EXISTS (
            SELECT 1 FROM unnest(f.cves) AS cve(id)
            WHERE NOT EXISTS (
                SELECT 1 FROM advisories_vexstatement v
                WHERE v.cve_id = cve.id AND v.status = 'not_affected'
                  AND v.ecosystem = p.ecosystem AND v.package IN (p.name, p.source_name)
                  AND (v.version = '' OR v.version IN (p.version, p.source_version))
            )
        )
    """
    suppressed = 0
    if any_statement:
        suppressed = _execute(
            cursor,
            f"""
        UPDATE patches_finding f SET state = 'suppressed'
        FROM devices_softwarepackage p
        WHERE p.id = f.package_id AND f.state = 'open' AND f.kind = 'package' {where}
          AND EXISTS (SELECT 1 FROM advisories_vexstatement v WHERE v.status = 'not_affected'
                      AND v.ecosystem = p.ecosystem AND v.package IN (p.name, p.source_name))
          AND {covered}
        """,
            params,
        )
    cursor.execute(
        f"""
        UPDATE patches_finding f SET state = 'open'
        FROM devices_softwarepackage p
        WHERE p.id = f.package_id AND f.state = 'suppressed' {where} AND NOT ({covered})
        """,
        params,
    )
    return suppressed


def _apply_exceptions(scope: Scope, now) -> None:
    """Accepted risks cover new and reopened findings too (patches.risk_acceptance)."""
    from patches.risk_acceptance import apply_exceptions

    clauses, params = [], {}
    if scope.device_ids is not None:
        clauses.append("AND f.device_id = ANY(%(devices)s)")
        params["devices"] = list(scope.device_ids)
    if scope.advisory_ids is not None:
        clauses.append("AND f.advisory_id = ANY(%(advisories)s)")
        params["advisories"] = list(scope.advisory_ids)
    apply_exceptions(now, " ".join(clauses), params)


def _score(cursor, scope: Scope, now) -> None:
    where, params = scope.filter("f.device_id", "f.advisory_id", "f.cves")
    cursor.execute(
        f"""
        UPDATE patches_finding f SET
            score = patches_risk_score(f.kev, f.kev_due, f.ransomware, f.epss, f.cvss, f.severity,
                                       d.criticality, f.first_seen_at, %s),
            label = patches_ssvc_label(f.kev, f.epss, f.cvss, f.severity, d.criticality)
        FROM devices_device d
        WHERE d.id = f.device_id AND f.state <> 'fixed' {where}
          AND (f.score, f.label) IS DISTINCT FROM (
              patches_risk_score(f.kev, f.kev_due, f.ransomware, f.epss, f.cvss, f.severity,
                                 d.criticality, f.first_seen_at, %s),
              patches_ssvc_label(f.kev, f.epss, f.cvss, f.severity, d.criticality))
        """,
        [now, *params, now],
    )


# Most hosts named per tenant when new KEV findings are announced.
KEV_TOP_HOSTS = 5


def _remember_open_kev(cursor, scope: Scope) -> None:
    """Before a change: which findings of the scope are open and KEV-listed (a few per cent)."""
    where, params = scope.filter("f.device_id", "f.advisory_id", "f.cves")
    cursor.execute("DROP TABLE IF EXISTS open_kev_before")
    cursor.execute(
        f"""
        CREATE TEMP TABLE open_kev_before ON COMMIT DROP AS
        SELECT f.id FROM patches_finding f WHERE f.kev AND f.state = 'open' {where}
        """,
        params,
    )


def _announce_opened_kev(cursor, scope: Scope, now) -> int:
    """After a change: open KEV findings that were not so before, per tenant, sent once committed.

    Covers new and reopened findings and findings whose CVE just joined KEV (patches.signals).
    """
    from patches.signals import kev_findings_opened

    where, params = scope.filter("f.device_id", "f.advisory_id", "f.cves")
    cursor.execute(
        f"""
        WITH opened AS (
            SELECT f.tenant_id, f.device_id, count(*) AS findings
            FROM patches_finding f
            WHERE f.kev AND f.state = 'open' {where}
              AND NOT EXISTS (SELECT 1 FROM open_kev_before b WHERE b.id = f.id)
              AND NOT EXISTS ({RETIRED_DEVICE})
            GROUP BY f.tenant_id, f.device_id
        ), ranked AS (
            SELECT o.tenant_id, o.findings, d.hostname,
                   row_number() OVER (PARTITION BY o.tenant_id ORDER BY o.findings DESC, d.hostname) AS rank
            FROM opened o JOIN devices_device d ON d.id = o.device_id
        )
        SELECT tenant_id, sum(findings)::int, count(*)::int,
               array_agg(hostname ORDER BY rank) FILTER (WHERE rank <= %s)
        FROM ranked GROUP BY tenant_id ORDER BY tenant_id
        """,
        [*params, KEV_TOP_HOSTS],
    )
    tenants = {
        tenant_id: {"findings": findings, "devices": devices, "hosts": hosts}
        for tenant_id, findings, devices, hosts in cursor.fetchall()
    }
    cursor.execute("DROP TABLE IF EXISTS open_kev_before")
    if tenants:
        transaction.on_commit(lambda: kev_findings_opened.send_robust(sender=Scope, now=now, tenants=tenants))
    return sum(t["findings"] for t in tenants.values())
