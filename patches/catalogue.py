"""Keeping the patch catalogue: from advisory matches and from what agents are offered.

* Linux: every package match with a fixed version names the patch (source package, fixed
  version) that closes it; the match carries the patch's id into the findings.
* Windows and winget: every offered update belongs to a patch (its KB, or the winget id and
  version), with WUA's classification, severity and reboot behaviour and the CVRF's CVEs.
* Supersedence: a Linux patch is replaced by a higher fixed version of the same source; a
  KB by a KB that lists it (WUA's supersedence or the CVRF's chain). `superseded_by` points
  at the newest replacement, so one hop reaches the patch to install.

Everything here is set-based SQL, except ordering a source's few fixed versions.
"""

from __future__ import annotations

import functools
from collections import defaultdict

from advisories import versions

__all__ = ["link_package_patches", "sync_offered_patches"]

SEVERITY_RANK = "CASE {0} WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END"
RANKED_SEVERITY = "(ARRAY['', 'low', 'medium', 'high', 'critical'])[{0} + 1]"

# WUA classifications as our catalogue names them.
WINDOWS_CLASSIFICATIONS = {
    "Security Updates": "security",
    "Critical Updates": "critical",
    "Update Rollups": "update_rollup",
    "Feature Packs": "feature",
    "Upgrades": "feature",
    "Drivers": "driver",
    "Definition Updates": "definition",
}


def link_package_patches(cursor) -> None:
    """Give every package match that has a fixed version its patch, creating patches as needed."""
    cursor.execute(
        """
        INSERT INTO patches_patch (kind, ecosystem, name, version, title, product, classification, severity,
                                   reboot, cves, kev, supersedes, first_seen_at)
        SELECT DISTINCT 'package', p.ecosystem, coalesce(nullif(p.source_name, ''), p.name), pm.fixed_version,
               coalesce(nullif(p.source_name, ''), p.name) || ' ' || pm.fixed_version,
               coalesce(nullif(p.source_name, ''), p.name), 'security', '', '',
               '{}'::varchar[], false, '{}'::varchar[], now()
        FROM patches_packagematch pm JOIN devices_softwarepackage p ON p.id = pm.package_id
        WHERE pm.patch_id IS NULL AND pm.fixed_version <> ''
        ON CONFLICT ON CONSTRAINT patch_identity DO NOTHING
        RETURNING id
        """
    )
    created = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        """
        WITH linked AS (
            UPDATE patches_packagematch pm SET patch_id = pt.id
            FROM devices_softwarepackage p, patches_patch pt
            WHERE pm.patch_id IS NULL AND pm.fixed_version <> '' AND p.id = pm.package_id
              AND pt.kind = 'package' AND pt.ecosystem = p.ecosystem
              AND pt.name = coalesce(nullif(p.source_name, ''), p.name) AND pt.version = pm.fixed_version
            RETURNING pm.patch_id, pm.advisory_id
        ), pairs AS (
            INSERT INTO patches_patchadvisory (patch_id, advisory_id)
            SELECT DISTINCT patch_id, advisory_id FROM linked
            ON CONFLICT (patch_id, advisory_id) DO NOTHING
        )
        SELECT DISTINCT patch_id FROM linked
        """
    )
    touched = sorted({row[0] for row in cursor.fetchall()} | set(created))
    if touched:
        _refresh_from_advisories(cursor, touched)
        _supersede_packages(cursor, touched)


def _refresh_from_advisories(cursor, patch_ids: list[int]) -> None:
    """A Linux patch fixes the union of its advisories' CVEs, at their highest severity.

    Debian's and Ubuntu's advisories carry no severity of their own, so NVD's CVSS severity
    of the CVEs counts too: otherwise a "high and above" auto-approve rule would never match.
    """
    cvss_severity = "lower(coalesce(nullif(c.cvss3_severity, ''), c.cvss4_severity))"
    cursor.execute(
        f"""
        WITH facts AS (
            SELECT pa.patch_id,
                   coalesce(array_agg(DISTINCT cve.id) FILTER (WHERE cve.id IS NOT NULL), '{{}}') AS cves,
                   greatest(max({SEVERITY_RANK.format("a.severity")}),
                            max({SEVERITY_RANK.format(cvss_severity)})) AS rank,
                   min(a.published)::date AS released,
                   bool_or(k.cve_id IS NOT NULL) AS kev
            FROM patches_patchadvisory pa
            JOIN advisories_advisory a ON a.id = pa.advisory_id
            LEFT JOIN LATERAL unnest(a.cves) AS cve(id) ON true
            LEFT JOIN advisories_keventry k ON k.cve_id = cve.id
            LEFT JOIN advisories_cve c ON c.cve_id = cve.id
            WHERE pa.patch_id = ANY(%s)
            GROUP BY pa.patch_id
        )
        UPDATE patches_patch pt SET cves = facts.cves, severity = {RANKED_SEVERITY.format("facts.rank")},
               released_on = facts.released, kev = coalesce(facts.kev, false)
        FROM facts
        WHERE pt.id = facts.patch_id
          AND (pt.cves, pt.severity, pt.released_on, pt.kev)
              IS DISTINCT FROM (facts.cves, {RANKED_SEVERITY.format("facts.rank")}, facts.released,
                                coalesce(facts.kev, false))
        """,
        [patch_ids],
    )


def _supersede_packages(cursor, patch_ids: list[int]) -> None:
    """Within each touched source package, every fixed version but the highest is superseded by it."""
    cursor.execute(
        """
        SELECT pt.id, pt.ecosystem, pt.name, pt.version, pt.superseded_by_id FROM patches_patch pt
        WHERE pt.kind = 'package' AND (pt.ecosystem, pt.name) IN (
            SELECT ecosystem, name FROM patches_patch WHERE id = ANY(%s)
        )
        """,
        [patch_ids],
    )
    by_source = defaultdict(list)
    for pk, ecosystem, name, version, superseded_by in cursor.fetchall():
        by_source[(ecosystem, name)].append((pk, version, superseded_by))
    changes = []
    for (ecosystem, _), rows in by_source.items():
        key = _version_key(ecosystem)
        newest = max(rows, key=lambda row: key(row[1]))[0]
        for pk, _, superseded_by in rows:
            wanted = None if pk == newest else newest
            if superseded_by != wanted:
                changes.append((pk, wanted))
    _set_superseded_by(cursor, changes)


def _version_key(ecosystem: str):
    sort_key = versions.sort_key(ecosystem)

    @functools.wraps(sort_key)
    def key(version: str):
        try:
            return (1, sort_key(version))
        except ValueError:  # an unparsable fixed version never supersedes a parsable one
            return (0, version)

    return key


def _set_superseded_by(cursor, changes: list[tuple[int, int | None]]) -> None:
    if not changes:
        return
    ids, targets = zip(*changes, strict=True)
    cursor.execute(
        """
        UPDATE patches_patch pt SET superseded_by_id = c.target
        FROM unnest(%s::bigint[], %s::bigint[]) AS c(id, target)
        WHERE pt.id = c.id
        """,
        [list(ids), list(targets)],
    )


def sync_offered_patches(cursor, device_ids=None) -> None:
    """Patches for the Windows and winget updates offered to some devices (or all of them)."""
    where, params = "", []
    if device_ids is not None:
        where = "AND u.id IN (SELECT update_id FROM devices_deviceupdate WHERE device_id = ANY(%s))"
        params = [list(device_ids)]
    classification = " ".join(f"WHEN '{wua}' THEN '{ours}'" for wua, ours in WINDOWS_CLASSIFICATIONS.items())
    cursor.execute(
        f"""
        WITH offered AS (
            SELECT u.id AS update_id,
                   CASE u.kind WHEN 'windows' THEN 'windows' ELSE 'application' END AS kind,
                   CASE u.kind WHEN 'windows' THEN 'Windows' ELSE u.kind END AS ecosystem,
                   CASE WHEN u.kind = 'windows' THEN coalesce(nullif(u.kb, ''), u.identifier)
                        ELSE u.identifier END AS name,
                   CASE WHEN u.kind = 'windows' THEN '' ELSE u.version END AS version,
                   u.title, u.released, u.severity,
                   CASE WHEN u.kind = 'windows' THEN CASE u.classification {classification} ELSE 'update' END
                        WHEN u.security THEN 'security' ELSE 'update' END AS classification,
                   CASE lower(u.reboot) WHEN 'required' THEN 'required' WHEN 'may' THEN 'may'
                        WHEN 'never' THEN 'never' ELSE '' END AS reboot,
                   u.supersedes
            FROM devices_update u
            WHERE u.kind IN ('windows', 'winget')
              AND NOT EXISTS (SELECT 1 FROM patches_patchupdate pu WHERE pu.update_id = u.id) {where}
        ), created AS (
            INSERT INTO patches_patch (kind, ecosystem, name, version, title, product, classification, severity,
                                       released_on, reboot, cves, kev, supersedes, first_seen_at)
            SELECT DISTINCT ON (kind, ecosystem, name, version) kind, ecosystem, name, version,
                   coalesce(nullif(title, ''), name), '', classification, lower(severity), released, reboot,
                   '{{}}'::varchar[], false, '{{}}'::varchar[], now()
            FROM offered
            ORDER BY kind, ecosystem, name, version, released DESC NULLS LAST
            ON CONFLICT ON CONSTRAINT patch_identity DO NOTHING
            RETURNING id
        )
        SELECT count(*) FROM created
        """,
        params,
    )
    cursor.execute(
        f"""
        INSERT INTO patches_patchupdate (patch_id, update_id)
        SELECT pt.id, u.id FROM devices_update u
        JOIN patches_patch pt
          ON pt.kind = CASE u.kind WHEN 'windows' THEN 'windows' ELSE 'application' END
         AND pt.ecosystem = CASE u.kind WHEN 'windows' THEN 'Windows' ELSE u.kind END
         AND pt.name = CASE WHEN u.kind = 'windows' THEN coalesce(nullif(u.kb, ''), u.identifier) ELSE u.identifier END
         AND pt.version = CASE WHEN u.kind = 'windows' THEN '' ELSE u.version END
        WHERE u.kind IN ('windows', 'winget')
          AND NOT EXISTS (SELECT 1 FROM patches_patchupdate pu WHERE pu.update_id = u.id) {where}
        ON CONFLICT (update_id) DO NOTHING
        """,
        params,
    )
    refresh_windows_patches(cursor)


def refresh_windows_patches(cursor) -> None:
    """Windows patches: the CVRF's CVEs, severity and supersedence, and WUA's own supersedence."""
    cursor.execute(
        f"""
        UPDATE patches_patch pt SET
            cves = k.cves,
            kev = EXISTS (SELECT 1 FROM advisories_keventry ke WHERE ke.cve_id = ANY(k.cves)),
            severity = CASE WHEN {SEVERITY_RANK.format("lower(k.severity)")} >= {SEVERITY_RANK.format("pt.severity")}
                            THEN lower(k.severity) ELSE pt.severity END,
            released_on = coalesce(pt.released_on, k.released),
            product = coalesce(k.products[1], pt.product),
            classification = CASE WHEN cardinality(k.cves) > 0 AND pt.classification = 'update'
                                  THEN 'security' ELSE pt.classification END
        FROM advisories_windowskb k
        WHERE pt.kind = 'windows' AND k.kb = regexp_replace(pt.name, '^KB', '')
          AND (pt.cves IS DISTINCT FROM k.cves OR pt.released_on IS NULL OR pt.product = '')
        """
    )
    # What each KB replaces: the CVRF's chain, and the KBs of the updates WUA says it supersedes.
    cursor.execute(
        """
        WITH replaced AS (
            SELECT pt.id, array(
                SELECT DISTINCT s FROM (
                    SELECT 'KB' || kb_number AS s FROM advisories_windowskb k, unnest(k.supersedes) AS kb_number
                    WHERE k.kb = regexp_replace(pt.name, '^KB', '')
                    UNION
                    SELECT coalesce(nullif(old.kb, ''), old.identifier)
                    FROM patches_patchupdate pu
                    JOIN devices_update u ON u.id = pu.update_id
                    JOIN devices_update old ON old.kind = 'windows' AND old.identifier = ANY(u.supersedes)
                    WHERE pu.patch_id = pt.id
                ) AS names(s) ORDER BY s
            )::varchar[] AS names
            FROM patches_patch pt WHERE pt.kind = 'windows'
        )
        UPDATE patches_patch pt SET supersedes = replaced.names
        FROM replaced WHERE pt.id = replaced.id AND pt.supersedes IS DISTINCT FROM replaced.names
        """
    )
    cursor.execute(
        """
        SELECT pt.id, pt.name, pt.supersedes, pt.released_on, pt.superseded_by_id
        FROM patches_patch pt WHERE pt.kind = 'windows'
        """
    )
    rows = cursor.fetchall()
    by_name = {name: pk for pk, name, _, _, _ in rows}
    replaced_by: dict[int, list[tuple]] = defaultdict(list)
    for pk, _, supersedes, released, _ in rows:
        for name in supersedes:
            if name in by_name and by_name[name] != pk:
                replaced_by[by_name[name]].append((released.isoformat() if released else "", pk))
    direct = {old: max(newer)[1] for old, newer in replaced_by.items()}

    def head(pk: int, seen=()) -> int:
        nxt = direct.get(pk)
        return pk if nxt is None or nxt in seen else head(nxt, (*seen, pk))

    changes = []
    for pk, _, _, _, superseded_by in rows:
        wanted = head(pk) if pk in direct else None
        if superseded_by != wanted:
            changes.append((pk, wanted))
    _set_superseded_by(cursor, changes)
