"""The post-deployment summary's data: what was updated where, which vulnerabilities that
addressed, the confirmation per device (by the next inventory, not the agent's exit code),
failures with their next step, and reboots done or pending.

`build(deployment, now)` reads the database in the caller's scope and returns plain JSON.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from advisories.models import Cve, KevEntry
from deployments.models import Deployment, DeploymentPatch, Job, JobEvent, JobKind, JobState
from patches.models import PatchAdvisory
from reports.snapshots.common import (
    SEVERITIES,
    SEVERITY_RANK,
    branding_data,
    iso,
    local_date,
    severity_of,
    tenant_data,
)

__all__ = ["STATUS_LABELS", "build", "period"]

STATUS_LABELS = {
    "verified": "Verified by inventory",
    "unverified": "Installed, not yet confirmed",
    "failed": "Failed",
    "timed_out": "Did not report back",
    "cancelled": "Cancelled",
    "rolled_back": "Rolled back",
    "in_progress": "In progress",
    "scheduled": "Waiting for its window",
    "dry_run": "Dry run (nothing changed)",
}
DONE = (JobState.SUCCEEDED, JobState.VERIFIED)
IN_PROGRESS = {JobState.CLAIMED, JobState.RUNNING, JobState.REBOOT_PENDING}


def period(deployment: Deployment, now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The days the deployment ran, in the tenant's time zone (until now while it runs)."""
    tenant = deployment.tenant
    start = local_date(deployment.started_at or deployment.created_at, tenant)
    end = local_date(deployment.finished_at or now, tenant)
    start_day, end_day = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return min(start_day, end_day), max(start_day, end_day)


def _patches(deployment) -> tuple[list[dict], dict[int, set[str]]]:
    rows = list(DeploymentPatch.objects.filter(deployment=deployment).select_related("patch").order_by("patch__name"))
    advisory_cves: dict[int, set[str]] = defaultdict(set)
    for patch_id, cves in PatchAdvisory.objects.filter(patch_id__in=[r.patch_id for r in rows]).values_list(
        "patch_id", "advisory__cves"
    ):
        advisory_cves[patch_id].update(cves or [])
    patches, cves_of = [], {}
    for row in rows:
        patch = row.patch
        cves = sorted(set(patch.cves or []) | advisory_cves.get(patch.pk, set()))
        cves_of[patch.pk] = set(cves)
        patches.append(
            {
                "id": patch.pk,
                "kind": patch.kind,
                "name": patch.name,
                "version": patch.version,
                "title": patch.title,
                "severity": severity_of(patch.severity),
                "kev": patch.kev,
                "cves": cves,
            }
        )
    return patches, cves_of


def _updates(payload: dict) -> list[dict]:
    """What the job installs, as `name → version` lines (package, KB or winget id)."""
    items = []
    for p in payload.get("packages") or []:
        items.append(
            {"name": p.get("name", ""), "version": p.get("version", ""), "previous": p.get("previous_version", "")}
        )
    for u in payload.get("windows_updates") or []:
        items.append({"name": u.get("kb", ""), "version": "installed", "previous": ""})
    for w in payload.get("winget") or []:
        items.append(
            {"name": w.get("id", ""), "version": w.get("version", ""), "previous": w.get("previous_version", "")}
        )
    return sorted(items, key=lambda item: item["name"])


def _failure(job: Job, last_message: str) -> dict | None:
    if job.state == JobState.FAILED:
        code = "unknown" if job.exit_code is None else job.exit_code
        return {
            "what": f"Failed after {job.attempt} of {job.max_attempts} attempts (exit code {code}).",
            "detail": last_message,
            "next_step": "A technician reviews the job log; the update stays open and is offered again "
            "in the next deployment.",
        }
    if job.state == JobState.TIMED_OUT:
        return {
            "what": "The device did not report back in time.",
            "detail": last_message,
            "next_step": "Checked at the device's next check-in; if it stays offline, a technician follows up.",
        }
    if job.state == JobState.CANCELLED:
        return {
            "what": "Cancelled before it completed.",
            "detail": last_message,
            "next_step": "The update stays open and is included in a later deployment.",
        }
    return None


def _status(job: Job, rolled_back: bool, dry_run: bool) -> str:
    if rolled_back:
        return "rolled_back"
    if dry_run and job.state in DONE:
        return "dry_run"
    return {
        JobState.VERIFIED: "verified",
        JobState.SUCCEEDED: "unverified",
        JobState.FAILED: "failed",
        JobState.TIMED_OUT: "timed_out",
        JobState.CANCELLED: "cancelled",
    }.get(job.state, "in_progress" if job.state in IN_PROGRESS else "scheduled")


def _confirmation(job: Job, status: str, tenant) -> str:
    if status == "verified":
        return f"Confirmed by the device's inventory on {local_date(job.verified_at, tenant)}."
    if status == "unverified":
        return "The agent reported success; the device's next inventory has not confirmed it yet."
    if status == "rolled_back":
        return "The update was rolled back after a failed health check."
    if status == "dry_run":
        return "Dry run: the agent reported what it would do and changed nothing."
    return ""


def _reboot(job: Job, device, rebooted: bool, reboot_job: Job | None) -> str:
    """done, pending or none."""
    reboot_ran = reboot_job is not None and reboot_job.state in DONE
    if (job.reboot_required or job.state == JobState.REBOOT_PENDING) and not reboot_ran:
        return "pending"
    if rebooted or reboot_ran:
        return "done"
    if device.reboot_required and job.state in DONE:
        return "pending"
    return "none"


def _vulnerabilities(patches: list[dict], cves_of: dict[int, set[str]], fixed_on: dict[int, set[int]]) -> list[dict]:
    all_cves = sorted(set().union(*cves_of.values())) if cves_of else []
    kev = {k.cve_id: k for k in KevEntry.objects.filter(cve_id__in=all_cves)}
    intel = {c.cve_id: c for c in Cve.objects.filter(cve_id__in=all_cves)}
    patch_severity = {}
    for patch in patches:
        for cve in patch["cves"]:
            current = patch_severity.get(cve, "unknown")
            if SEVERITY_RANK[patch["severity"]] < SEVERITY_RANK[current]:
                patch_severity[cve] = patch["severity"]
    rows = []
    for cve in all_cves:
        record = intel.get(cve)
        severity = severity_of(record.cvss4_severity or record.cvss3_severity) if record else "unknown"
        if severity == "unknown":
            severity = patch_severity.get(cve, "unknown")
        score = record.cvss_score if record else None
        devices = set()
        for patch_id, cves in cves_of.items():
            if cve in cves:
                devices |= fixed_on.get(patch_id, set())
        entry = kev.get(cve)
        rows.append(
            {
                "cve": cve,
                "severity": severity,
                "cvss": float(score) if score is not None else None,
                "kev": entry is not None,
                "ransomware": bool(entry and entry.ransomware_known),
                "kev_due": iso(entry.due_date) if entry else None,
                "devices_fixed": len(devices),
            }
        )
    rows.sort(key=lambda r: (not r["kev"], SEVERITY_RANK[r["severity"]], r["cve"]))
    return rows


def build(deployment: Deployment, now: dt.datetime) -> dict:
    tenant = deployment.tenant
    patches, cves_of = _patches(deployment)
    jobs = list(Job.objects.filter(deployment=deployment).select_related("device").order_by("device__hostname", "id"))
    installs = [j for j in jobs if j.kind == JobKind.INSTALL]
    rollbacks = {j.rollback_of_id for j in jobs if j.kind == JobKind.ROLLBACK and j.state in DONE}
    reboot_jobs = {j.device_id: j for j in jobs if j.kind == JobKind.REBOOT}
    rebooted = set(
        JobEvent.objects.filter(job__deployment=deployment, state=JobState.REBOOT_PENDING).values_list(
            "job_id", flat=True
        )
    )
    last_messages = {}
    for job_id, message in (
        JobEvent.objects.filter(job_id__in=[j.pk for j in installs if j.is_final])
        .order_by("job_id", "-at", "-id")
        .distinct("job_id")
        .values_list("job_id", "message")
    ):
        last_messages[job_id] = message

    devices, fixed_on = [], defaultdict(set)
    counts = defaultdict(int)
    for job in installs:
        status = _status(job, job.pk in rollbacks, deployment.dry_run or bool((job.payload or {}).get("dry_run")))
        reboot = _reboot(job, job.device, job.pk in rebooted, reboot_jobs.get(job.device_id))
        counts[status] += 1
        counts[f"reboot_{reboot}"] += 1
        if status == "verified":
            for patch_id in (job.payload or {}).get("patches") or []:
                fixed_on[patch_id].add(job.device_id)
        devices.append(
            {
                "hostname": job.device.hostname,
                "os": " ".join(filter(None, [job.device.os_name, job.device.os_version])),
                "status": status,
                "status_label": STATUS_LABELS[status],
                "updates": _updates(job.payload or {}),
                "confirmation": _confirmation(job, status, tenant),
                "verified_at": iso(job.verified_at),
                "failure": _failure(job, last_messages.get(job.pk, "")),
                "reboot": reboot,
            }
        )
    vulnerabilities = _vulnerabilities(patches, cves_of, fixed_on)
    start, end = period(deployment, now)
    by_severity = {s: sum(1 for v in vulnerabilities if v["severity"] == s) for s in SEVERITIES}
    return {
        "kind": "deployment",
        "generated_at": iso(now),
        "tenant": tenant_data(tenant),
        "branding": branding_data(),
        "period": {"start": iso(start), "end": iso(end)},
        "deployment": {
            "id": deployment.pk,
            "name": deployment.name,
            "state": deployment.state,
            "state_label": deployment.get_state_display(),
            "created_at": iso(deployment.created_at),
            "started_at": iso(deployment.started_at),
            "finished_at": iso(deployment.finished_at),
            "dry_run": deployment.dry_run,
            "halted_reason": deployment.halted_reason,
        },
        "summary": {
            "devices": len(devices),
            "verified": counts["verified"],
            "unverified": counts["unverified"],
            "failed": counts["failed"] + counts["timed_out"],
            "cancelled": counts["cancelled"],
            "rolled_back": counts["rolled_back"],
            "in_progress": counts["in_progress"] + counts["scheduled"],
            "reboots_done": counts["reboot_done"],
            "reboots_pending": counts["reboot_pending"],
            "cves": len(vulnerabilities),
            "kev_cves": sum(1 for v in vulnerabilities if v["kev"]),
            "cves_by_severity": by_severity,
        },
        "patches": patches,
        "vulnerabilities": vulnerabilities,
        "devices": devices,
        "failures": [d for d in devices if d["failure"]],
    }
