"""Last-seen buffering: check-ins write to Redis, a beat task folds them into PostgreSQL.

A check-in must not cost a database write (10,000 agents every few minutes would make
`last_seen_at` the hottest row lock in the system). Each check-in records its timestamp and
details in a Redis hash; `flush()` runs every few seconds, swaps the hash out atomically and
writes all of it with two set-based statements. Redis outlives web-process restarts, and a
batch whose database write failed is retried on the next run, so nothing is lost.
"""

from __future__ import annotations

import json
import time
import uuid

from django.db import connection, transaction

from portal.redis import client

__all__ = ["authenticate_and_record", "flush", "record_checkin"]

PENDING = "agent:presence"
COUNTS = "agent:presence:count"
_FLUSHING = "agent:presence:flushing:"

# The check-in hot path in one round trip: look up the cached device entry for the token
# and, if there is one, buffer the check-in under the device's id. Atomic, like any script.
_CHECKIN = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local id = cjson.decode(raw)['id']
redis.call('HSET', KEYS[2], id, ARGV[1])
redis.call('HINCRBY', KEYS[3], id, 1)
return raw
"""

_SWAP = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RENAME', KEYS[1], KEYS[3]) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[4]) end
return 1
"""


def _detail(agent_version, ip, reboot_required, uptime, at) -> str:
    return json.dumps([at or time.time(), agent_version, ip, reboot_required, uptime], separators=(",", ":"))


def authenticate_and_record(
    cache_key: str,
    *,
    agent_version: str,
    ip: str | None,
    reboot_required: bool | None,
    uptime: int | None,
    at: float | None = None,
) -> bytes | None:
    """The cached device entry for a token (recording the check-in), or None on a cache miss."""
    script = client().register_script(_CHECKIN)
    return script(keys=[cache_key, PENDING, COUNTS], args=[_detail(agent_version, ip, reboot_required, uptime, at)])


def record_checkin(
    device_id: int,
    *,
    agent_version: str,
    ip: str | None,
    reboot_required: bool | None,
    uptime: int | None,
    at: float | None = None,
) -> None:
    """Buffer a check-in for a device whose entry was not in the cache."""
    pipe = client().pipeline(transaction=True)  # a flush never takes the detail without its count
    pipe.hset(PENDING, device_id, _detail(agent_version, ip, reboot_required, uptime, at))
    pipe.hincrby(COUNTS, device_id, 1)
    pipe.execute()


def _take_batches() -> list[str]:
    """Move the pending hashes aside under a fresh name (atomically); earlier failed batches come too."""
    redis = client()
    batch = _FLUSHING + uuid.uuid4().hex
    redis.eval(_SWAP, 4, PENDING, COUNTS, batch, batch + ":count")
    return sorted(key.decode() for key in redis.scan_iter(_FLUSHING + "*") if not key.endswith(b":count"))


def flush() -> int:
    """Write buffered check-ins to the database; returns how many devices were updated."""
    redis = client()
    written = 0
    for batch in _take_batches():
        entries = redis.hgetall(batch)
        counts = {int(k): int(v) for k, v in redis.hgetall(batch + ":count").items()}
        if entries:
            _write(entries, counts)
            written += len(entries)
        redis.delete(batch, batch + ":count")
    return written


def _write(entries: dict, counts: dict[int, int]) -> None:
    ids, seen, versions, ips, reboots, uptimes, hits = [], [], [], [], [], [], []
    for key, raw in entries.items():
        at, agent_version, ip, reboot, uptime = json.loads(raw)
        device_id = int(key)
        ids.append(device_id)
        seen.append(at)
        versions.append(agent_version or "")
        ips.append(ip)
        reboots.append(reboot)
        uptimes.append(uptime)
        hits.append(counts.get(device_id, 1))
    # Trusted server work over every tenant's devices: the system scope.
    from portal.db_scope import system_scope

    with system_scope(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE devices_device d SET
                last_seen_at = to_timestamp(v.at),
                agent_version = CASE WHEN v.ver <> '' THEN v.ver ELSE d.agent_version END,
                last_ip = coalesce(v.ip::inet, d.last_ip),
                reboot_required = coalesce(v.reboot, d.reboot_required),
                uptime_seconds = coalesce(v.up, d.uptime_seconds)
            FROM unnest(%s::bigint[], %s::float8[], %s::text[], %s::text[], %s::bool[], %s::bigint[])
                AS v(id, at, ver, ip, reboot, up)
            WHERE d.id = v.id AND (d.last_seen_at IS NULL OR d.last_seen_at < to_timestamp(v.at))
            """,
            [ids, seen, versions, ips, reboots, uptimes],
        )
        cursor.execute(
            """
            INSERT INTO devices_devicecheckin (tenant_id, device_id, hour, first_at, last_at, count, agent_version, ip)
            SELECT d.tenant_id, v.id, date_trunc('hour', to_timestamp(v.at)), to_timestamp(v.at),
                   to_timestamp(v.at), v.n, v.ver, v.ip::inet
            FROM unnest(%s::bigint[], %s::float8[], %s::int[], %s::text[], %s::text[]) AS v(id, at, n, ver, ip)
            JOIN devices_device d ON d.id = v.id
            ON CONFLICT (device_id, hour) DO UPDATE SET
                last_at = greatest(devices_devicecheckin.last_at, EXCLUDED.last_at),
                count = devices_devicecheckin.count + EXCLUDED.count,
                agent_version = EXCLUDED.agent_version,
                ip = coalesce(EXCLUDED.ip, devices_devicecheckin.ip)
            """,
            [ids, seen, hits, versions, ips],
        )
