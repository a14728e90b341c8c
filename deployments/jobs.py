"""Job state transitions: claim under a lease, progress, results, the lease sweep, verification.

The life of a job (deployments.models.jobs):

    pending ─release_due (planning/dispatch)─▶ queued ─claim─▶ claimed ─progress─▶ running
      running ─progress─▶ reboot_pending ─result─▶ succeeded ─inventory─▶ verified
      running ─result failed, attempts left─▶ queued (not_before = now + back-off)
      running ─result failed, none left─▶ failed
      claimed/running ─lease expired (sweep), attempts left─▶ queued (back-off), else timed_out
      reboot_pending ─lease expired (sweep)─▶ timed_out (the install ran; the machine never came back)
      any state not final ─cancel_jobs─▶ cancelled

Every transition is one conditional UPDATE (or a row lock and a save) and writes a JobEvent.
Callers supply the database scope (the agent API opens the device's tenant scope); the
sweeps are cross-tenant server work and open the system scope themselves.

Results: which result is accepted
---------------------------------
`record_result(job, lease_id=L, result_key=K, ...)`:

1. K equals the job's stored `result_key`: a retried post of a result already recorded.
   The stored job is returned and nothing changes (whatever state the job is in now).
2. L is not the job's last lease (`job.lease_id`): refused (`LeaseMismatch`): another claim
   took the job since, and that agent's result is the one that counts.
3. A result is already stored for lease L (a different K), or the job is final (verified,
   failed, timed out, cancelled): refused (`ResultConflict`).
4. Otherwise the result is accepted, even when lease L has expired: the job may still be
   claimed/running (the sweep has not run yet) or already re-queued (or pending) by the
   sweep but not re-claimed. The agent did the work under the last lease, so its result
   is the truth; the job leaves the queue. A new claim clears `result_key`, so a stored key
   always belongs to the current lease.

The agent saves K in its state directory before the first post, so a post retried after a
crash sends the same K (rule 1).

Redis "due" marks
-----------------
The check-in (devices/agent_api/views.py) is served from Redis. A device with jobs to pick
up is marked in the sorted set `DUE_KEY` (member: device id, score: epoch seconds from which
something is due). The check-in hook (`checkin_jobs`) costs one ZSCORE for unmarked devices
and reads PostgreSQL only for a device whose mark is due; when it finds nothing due it moves
the mark to the next `not_before` or removes it (compare-and-set, so a mark set meanwhile by
`mark_devices_due` is never lost). `remark_queued` (run by `sweep_leases`) rebuilds the marks
from the database as a safety net.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from deployments.models import Deployment, Job, JobEvent, JobKind, JobState
from deployments.models.jobs import FINAL_STATES
from portal.db_scope import system_scope, tenant_scope
from portal.redis import client as redis_client

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "DUE_KEY",
    "OUTPUT_LIMIT",
    "JobError",
    "LeaseExpired",
    "LeaseMismatch",
    "ResultConflict",
    "SweepCounts",
    "backoff",
    "backoff_base_seconds",
    "cancel_jobs",
    "checkin_jobs",
    "claim",
    "default_lease_seconds",
    "devices_with_due_jobs",
    "mark_devices_due",
    "record_progress",
    "record_result",
    "remark_queued",
    "sweep_leases",
    "verify_from_inventory",
]

DUE_KEY = "deployments:due"
OUTPUT_LIMIT = 64 * 1024  # characters of output kept: the end, which says how it ended
BACKOFF_BASE_SECONDS = 300  # 5 min, 10 min, 20 min, … after the 1st, 2nd, 3rd attempt
BACKOFF_MAX_SECONDS = 6 * 3600
CLAIMABLE_DEPLOYMENT_STATES = [Deployment.State.SCHEDULED, Deployment.State.RUNNING]
OPEN_STATES = [
    JobState.PENDING,
    JobState.QUEUED,
    JobState.CLAIMED,
    JobState.RUNNING,
    JobState.REBOOT_PENDING,
]
LEASED_STATES = [JobState.CLAIMED, JobState.RUNNING, JobState.REBOOT_PENDING]
PROGRESS_STATES = {JobState.RUNNING, JobState.REBOOT_PENDING}


class JobError(Exception):
    """A transition the job's state or lease does not allow; the agent API answers 409."""

    status = 409


class LeaseMismatch(JobError):
    pass


class LeaseExpired(JobError):
    pass


class ResultConflict(JobError):
    pass


def default_lease_seconds() -> int:
    return int(getattr(settings, "JOB_LEASE_SECONDS", 600))


def backoff_base_seconds() -> int:
    """The wait after a first failed attempt (settings.JOB_RETRY_BACKOFF_SECONDS, default 300)."""
    return int(getattr(settings, "JOB_RETRY_BACKOFF_SECONDS", BACKOFF_BASE_SECONDS))


def backoff(attempt: int) -> timedelta:
    """The wait before the next attempt after attempt number `attempt` (1-based) failed."""
    seconds = backoff_base_seconds() * 2 ** max(0, attempt - 1)
    return timedelta(seconds=min(seconds, BACKOFF_MAX_SECONDS))


def _truncate(output: str) -> str:
    if len(output) <= OUTPUT_LIMIT:
        return output
    marker = f"[… output truncated: the last {OUTPUT_LIMIT} characters follow]\n"
    return marker + output[-OUTPUT_LIMIT:]


def _device_id(device) -> int:
    return device.pk if hasattr(device, "pk") else device.id


def _event(job: Job, state: str, message: str, now: datetime) -> JobEvent:
    return JobEvent(tenant_id=job.tenant_id, job_id=job.pk, at=now, state=state, message=message[:10_000])


# --- claim ----------------------------------------------------------------------------------


def claimable(device_id: int, now: datetime):
    """Queued jobs of the device that may run now (their deployment neither paused nor stopped)."""
    return (
        Job.objects.filter(device_id=device_id, state=JobState.QUEUED)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .filter(Q(not_after__isnull=True) | Q(not_after__gt=now))
        .filter(Q(deployment__isnull=True) | Q(deployment__state__in=CLAIMABLE_DEPLOYMENT_STATES))
    )


# The Job columns portal_claim_jobs() returns (deployments/migrations/0003), besides the
# deployment's dry_run: what the agent's answer and the callers use. The other columns (the output
# of an earlier attempt among them) stay deferred on the returned Job.
_CLAIM_COLUMNS = (
    "id", "tenant_id", "deployment_id", "stage_id", "device_id", "kind", "state", "batch", "payload",
    "not_before", "not_after", "attempt", "max_attempts", "lease_id", "lease_expires_at", "claimed_at",
)  # fmt: skip
_CLAIM_SQL = "SELECT * FROM portal_claim_jobs(%s, %s, %s, %s, %s, %s)"


@cache
def _claim_fields(columns: tuple[str, ...]) -> tuple[list[int], list[str]]:
    """Where each claimed field sits in the function's row (by the names the row has), in the
    model's field order (as Job.from_db wants the values), and those fields' attribute names."""
    fields = [f for f in Job._meta.concrete_fields if f.column in _CLAIM_COLUMNS]
    return [columns.index(f.column) for f in fields], [f.attname for f in fields]


def claim(device, *, now: datetime, lease_seconds: int | None = None, limit: int = 5) -> list[Job]:
    """Lease up to `limit` due jobs of `device` to its agent (a new uuid4 lease for each).

    `SELECT … FOR UPDATE SKIP LOCKED` makes concurrent claims take disjoint jobs: a row
    another transaction is claiming is skipped, never waited for and never taken twice
    (that transaction changes its state, so it is no longer queued when seen again). The
    pick, the update and the JobEvent lines are one call of the SQL function
    portal_claim_jobs, in the device's own tenant scope whatever the caller's: the agent
    API's hottest write (bench/claims.py), one round trip and, outside a transaction, one
    transaction of its own. Each job carries `deployment_dry_run` (None without a deployment).

    The rows become Jobs without a queryset; Django's execute wrappers (query logging,
    assertNumQueries) do not see the call.
    """
    seconds = lease_seconds if lease_seconds is not None else default_lease_seconds()
    params = [
        device.tenant_id,
        _device_id(device),
        now,
        now + timedelta(seconds=seconds),
        limit,
        [str(s) for s in CLAIMABLE_DEPLOYMENT_STATES],
    ]
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_CLAIM_SQL, params)
        rows = cursor.fetchall()
        columns = tuple(column.name for column in cursor.description)
    positions, attnames = _claim_fields(columns)
    payload_at, dry_run_at = attnames.index("payload"), columns.index("deployment_dry_run")
    claimed = []
    for row in rows:
        values = [row[i] for i in positions]
        if isinstance(values[payload_at], str):  # Django reads jsonb as text and decodes it itself
            values[payload_at] = json.loads(values[payload_at])
        job = Job.from_db(connection.alias, attnames, values)
        job.deployment_dry_run = row[dry_run_at]
        claimed.append(job)
    return claimed


# --- progress and results -----------------------------------------------------------------


def _locked(job: Job) -> Job:
    return Job.objects.select_for_update().get(pk=job.pk)


def _same_lease(job: Job, lease_id) -> bool:
    return job.lease_id is not None and str(job.lease_id) == str(lease_id)


def record_progress(job: Job, *, lease_id, state: str, message: str = "", now: datetime) -> Job:
    """The agent is working (running) or about to reboot (reboot_pending); extends the lease."""
    if state not in PROGRESS_STATES:
        raise ValueError(f"progress state must be running or reboot_pending, not {state!r}")
    with transaction.atomic():
        locked = _locked(job)
        if not _same_lease(locked, lease_id):
            raise LeaseMismatch("This lease is not the job's current lease; another claim took the job.")
        if locked.state not in LEASED_STATES:
            raise LeaseExpired(f"The job is {locked.state}, no longer held under this lease.")
        if locked.lease_expires_at is None or locked.lease_expires_at <= now:
            raise LeaseExpired("The lease has expired; the job will be retried or has timed out.")
        changed = locked.state != state
        locked.state = state
        locked.lease_expires_at = now + timedelta(seconds=default_lease_seconds())
        if state == JobState.RUNNING and locked.started_at is None:
            locked.started_at = now
        locked.updated_at = now
        locked.save(update_fields=["state", "lease_expires_at", "started_at", "updated_at"])
        if changed or message:
            JobEvent.objects.create(**_event_fields(locked, state, message or f"Now {state}.", now))
    return locked


def _event_fields(job: Job, state: str, message: str, now: datetime) -> dict:
    return {"tenant_id": job.tenant_id, "job_id": job.pk, "at": now, "state": state, "message": message[:10_000]}


def record_result(
    job: Job,
    *,
    lease_id,
    result_key: str,
    outcome: str,
    exit_code: int | None = None,
    output: str = "",
    reboot_required: bool = False,
    now: datetime,
) -> Job:
    """Record the agent's result (see the module docstring for which results are accepted)."""
    if outcome not in ("succeeded", "failed"):
        raise ValueError(f"outcome must be succeeded or failed, not {outcome!r}")
    if not result_key:
        raise ValueError("result_key must not be empty")
    retry_at = None
    with transaction.atomic():
        locked = _locked(job)
        if locked.result_key == result_key:
            return locked  # the same result again: changes nothing
        if not _same_lease(locked, lease_id):
            raise LeaseMismatch("This lease is not the job's last lease; another claim took the job.")
        if locked.result_key or locked.state in FINAL_STATES or locked.state == JobState.SUCCEEDED:
            raise ResultConflict(f"The job is {locked.state} and already has a result for this lease.")
        locked.result_key = result_key
        locked.exit_code = exit_code
        locked.output = _truncate(output or "")
        locked.reboot_required = bool(reboot_required)
        locked.lease_expires_at = None
        locked.updated_at = now
        if outcome == "succeeded":
            locked.state = JobState.SUCCEEDED
            locked.finished_at = now
            message = "The agent reports success" + (", a reboot is required." if reboot_required else ".")
        elif locked.attempt < locked.max_attempts:
            retry_at = now + backoff(locked.attempt)
            locked.state = JobState.QUEUED
            locked.not_before = retry_at
            message = (
                f"Attempt {locked.attempt} failed (exit code {exit_code}); retrying from {retry_at:%Y-%m-%d %H:%M} UTC."
            )
        else:
            locked.state = JobState.FAILED
            locked.finished_at = now
            message = f"Attempt {locked.attempt} of {locked.max_attempts} failed (exit code {exit_code})."
        locked.save()
        JobEvent.objects.create(**_event_fields(locked, locked.state, message, now))
        if retry_at is not None:
            device_id = locked.device_id
            transaction.on_commit(lambda: mark_devices_due([device_id], at=retry_at))
    return locked


# --- the lease sweep --------------------------------------------------------------------------


@dataclass
class SweepCounts:
    requeued: int = 0
    timed_out: int = 0


_SWEEP_SQL = """
UPDATE deployments_job SET
    state = CASE WHEN state IN ('claimed', 'running') AND attempt < max_attempts THEN 'queued' ELSE 'timed_out' END,
    not_before = CASE WHEN state IN ('claimed', 'running') AND attempt < max_attempts
        THEN %(now)s + make_interval(secs => least(%(base)s * power(2, greatest(attempt - 1, 0)), %(cap)s))
        ELSE not_before END,
    finished_at = CASE WHEN state IN ('claimed', 'running') AND attempt < max_attempts THEN finished_at
        ELSE %(now)s END,
    lease_expires_at = NULL,
    updated_at = %(now)s
WHERE state IN ('claimed', 'running', 'reboot_pending') AND lease_expires_at <= %(now)s
RETURNING id, tenant_id, device_id, state, not_before, attempt, max_attempts
"""


def sweep_leases(now: datetime) -> SweepCounts:
    """Jobs whose lease expired without a result: back to queued with back-off, or timed out.

    One statement for all of them; a job whose agent posts its result in the meantime is
    no longer leased and is left alone (the UPDATE re-checks the state under its row lock).
    """
    counts = SweepCounts()
    with system_scope(), connection.cursor() as cursor:
        cursor.execute(_SWEEP_SQL, {"now": now, "base": backoff_base_seconds(), "cap": BACKOFF_MAX_SECONDS})
        rows = cursor.fetchall()
        events, due = [], {}
        for job_id, tenant_id, device_id, state, not_before, attempt, max_attempts in rows:
            if state == JobState.QUEUED:
                counts.requeued += 1
                due[device_id] = min(due.get(device_id, not_before), not_before)
                message = (
                    f"The lease of attempt {attempt} expired without a result; retrying from {not_before:%H:%M} UTC."
                )
            else:
                counts.timed_out += 1
                message = f"The lease expired without a result after attempt {attempt} of {max_attempts}."
            events.append(JobEvent(tenant_id=tenant_id, job_id=job_id, at=now, state=state, message=message))
        JobEvent.objects.bulk_create(events, batch_size=1000)
        if due:
            transaction.on_commit(lambda: _mark_each(due))
    remark_queued(now)
    return counts


def _mark_each(due: dict[int, datetime]) -> None:
    by_time: dict[datetime, list[int]] = {}
    for device_id, at in due.items():
        by_time.setdefault(at, []).append(device_id)
    for at, ids in by_time.items():
        mark_devices_due(ids, at=at)


def remark_queued(now: datetime) -> int:
    """Mark every device that has queued jobs (the safety net for marks lost in Redis)."""
    with system_scope():
        rows = list(
            Job.objects.filter(state=JobState.QUEUED)
            .filter(Q(deployment__isnull=True) | Q(deployment__state__in=CLAIMABLE_DEPLOYMENT_STATES))
            .values_list("device_id", "not_before")
        )
    due: dict[int, datetime] = {}
    for device_id, not_before in rows:
        at = not_before or now
        due[device_id] = min(due.get(device_id, at), at)
    _mark_each(due)
    return len(due)


# --- cancelling -----------------------------------------------------------------------------


def cancel_jobs(queryset, *, reason: str, now: datetime) -> int:
    """Cancel the jobs of `queryset` that are not final yet; returns how many.

    A claimed or running job is cancelled too: the agent's later progress is refused and
    its result rejected as a conflict (the work it did shows in the next inventory).
    """
    with transaction.atomic():
        rows = list(
            queryset.filter(state__in=OPEN_STATES).select_for_update(of=("self",)).values_list("id", "tenant_id")
        )
        ids = [job_id for job_id, _ in rows]
        if not ids:
            return 0
        Job.objects.filter(pk__in=ids).update(
            state=JobState.CANCELLED, lease_expires_at=None, finished_at=now, updated_at=now
        )
        JobEvent.objects.bulk_create(
            [
                JobEvent(tenant_id=tenant_id, job_id=job_id, at=now, state=JobState.CANCELLED, message=reason)
                for job_id, tenant_id in rows
            ],
            batch_size=1000,
        )
    return len(ids)


# --- verification from inventory ----------------------------------------------------------


def _plain_version(manager: str, version: str) -> str:
    # rpm inventories always carry the epoch; "0:1.2-3" and "1.2-3" are the same version.
    if manager == "dnf" and version.startswith("0:"):
        return version[2:]
    return version


def _kb(value: str) -> str:
    value = (value or "").strip().upper()
    return value if value.startswith("KB") else f"KB{value}"


def verify_from_inventory(device, *, now: datetime | None = None) -> int:
    """Succeeded install and rollback jobs whose changes the device's inventory now shows → verified.

    Packages (apt, dnf): every `name` at `version` is installed. KBs: an install's KBs are
    reported installed by Windows Update, a rollback's are not. winget: the package is no
    longer offered at (or below) the target version. Returns how many jobs were verified.
    """
    from devices.models import DeviceSoftware, DeviceUpdate

    now = now or timezone.now()
    jobs = list(
        Job.objects.filter(
            device_id=_device_id(device), state=JobState.SUCCEEDED, kind__in=[JobKind.INSTALL, JobKind.ROLLBACK]
        ).only("id", "tenant_id", "kind", "payload")
    )
    jobs = [j for j in jobs if not (j.payload or {}).get("dry_run")]
    if not jobs:
        return 0
    names = {p.get("name") for j in jobs for p in (j.payload or {}).get("packages") or [] if p.get("name")}
    installed: set[tuple[str, str]] = set()
    if names:
        installed = {
            (name, version)
            for name, version in DeviceSoftware.objects.filter(
                device_id=_device_id(device), package__name__in=names
            ).values_list("package__name", "package__version")
        }
        installed |= {(name, _plain_version("dnf", version)) for name, version in installed}
    installed_kbs = {
        kb.upper()
        for kb in DeviceUpdate.objects.filter(device_id=_device_id(device), installed=True)
        .exclude(update__kb="")
        .values_list("update__kb", flat=True)
    }
    offered_winget = set(
        DeviceUpdate.objects.filter(device_id=_device_id(device), installed=False, update__kind="winget").values_list(
            "update__identifier", flat=True
        )
    )
    verified = []
    for job in jobs:
        payload = job.payload or {}
        packages = payload.get("packages") or []
        kbs = [_kb(u.get("kb", "")) for u in payload.get("windows_updates") or [] if u.get("kb")]
        winget = [w.get("id") for w in payload.get("winget") or [] if w.get("id")]
        if not (packages or kbs or winget):
            continue
        ok = all(
            (p.get("name"), _plain_version(p.get("manager", ""), str(p.get("version", "")))) in installed
            for p in packages
        )
        if job.kind == JobKind.ROLLBACK:
            ok = ok and not any(kb in installed_kbs for kb in kbs)
        else:
            ok = ok and all(kb in installed_kbs for kb in kbs)
        ok = ok and not any(package_id in offered_winget for package_id in winget)
        if ok:
            verified.append(job)
    if not verified:
        return 0
    with transaction.atomic():
        count = Job.objects.filter(pk__in=[j.pk for j in verified], state=JobState.SUCCEEDED).update(
            state=JobState.VERIFIED, verified_at=now, updated_at=now
        )
        JobEvent.objects.bulk_create(
            [_event(j, JobState.VERIFIED, "Confirmed by the device's inventory.", now) for j in verified]
        )
    return count


# --- Redis marks and the check-in hook ------------------------------------------------------


def _epoch(at: datetime | None) -> float:
    return at.timestamp() if at is not None else time.time()


# A due mark moves to the new score when that is earlier, or when it is due now: then the
# score changes, so a check-in that read the old one and found nothing (compare-and-set
# below) cannot remove a mark set for jobs committed after its read.
_MARK = """
local now, score = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 3, #ARGV do
  local current = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if (not current) or score < tonumber(current) or score <= now then
    redis.call('ZADD', KEYS[1], score, ARGV[i])
  end
end
return 1
"""


def mark_devices_due(device_ids: Iterable[int], *, at: datetime | None = None) -> None:
    """Tell the check-in that these devices have jobs due from `at` (default: now).

    Call it after the jobs are committed (transaction.on_commit). An earlier mark stays.
    """
    ids = [str(i) for i in device_ids]
    if not ids:
        return
    now = time.time()
    score = _epoch(at)
    script = redis_client().register_script(_MARK)
    for start in range(0, len(ids), 1000):
        script(keys=[DUE_KEY], args=[repr(now), repr(score), *ids[start : start + 1000]])


def devices_with_due_jobs(now: datetime | None = None) -> set[int]:
    """Devices whose mark is due (their jobs may be queued and claimable)."""
    return {int(m) for m in redis_client().zrangebyscore(DUE_KEY, "-inf", _epoch(now))}


# Set the mark to ARGV[2] (or remove it when empty) only if it still has the score ARGV[1].
_COMPARE_AND_SET = """
local current = redis.call('ZSCORE', KEYS[1], ARGV[3])
if (not current) or tonumber(current) ~= tonumber(ARGV[1]) then return 0 end
if ARGV[2] == '' then redis.call('ZREM', KEYS[1], ARGV[3]) else redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3]) end
return 1
"""


def checkin_jobs(device) -> list[dict]:
    """The check-in hook: jobs due for this device, as {"id", "kind"}; the agent claims them next.

    One ZSCORE for a device with nothing marked; PostgreSQL only when its mark is due.
    """
    redis = redis_client()
    raw = redis.zscore(DUE_KEY, str(device.id))
    if raw is None or raw > time.time():
        return []
    now = timezone.now()
    with tenant_scope([device.tenant_id]):
        rows = list(
            Job.objects.filter(device_id=device.id, state=JobState.QUEUED)
            .filter(Q(not_after__isnull=True) | Q(not_after__gt=now))
            .filter(Q(deployment__isnull=True) | Q(deployment__state__in=CLAIMABLE_DEPLOYMENT_STATES))
            .order_by("not_before", "id")
            .values_list("id", "kind", "not_before")[:50]
        )
    due = [{"id": job_id, "kind": kind} for job_id, kind, not_before in rows if not_before is None or not_before <= now]
    if not due:
        later = [not_before for _, _, not_before in rows if not_before is not None]
        redis.eval(
            _COMPARE_AND_SET,
            1,
            DUE_KEY,
            repr(raw),
            repr(min(later).timestamp()) if later else "",
            str(device.id),
        )
    return due
