"""Check-ins per second and their latency with 10,000 enrolled devices and 200 connections.

The devices are enrolled over HTTP by `simulate_fleet`; wrk then posts check-ins, each
with its own device token (so each authenticates its own device), against gunicorn with
the production configuration. The same server, loaded the same way, also serves a view
that returns a constant: the check-in's share of that throughput is the overhead figure.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from bench import env, results, server, wrk

DEVICES = 10_000
CONNECTIONS = 200
SECONDS = 20
PACED_RATE = 550  # check-ins per second offered when measuring latency under a steady load
PACED_REPEATS = 3  # this shared 2-core VM is noisy: the median of three runs is reported
TENANT = "bench-checkin"
OUT = env.ROOT / "bench" / "out"
LUA = str(env.ROOT / "bench" / "lua" / "checkin.lua")


def _enrolled_tokens(base_url: str) -> Path:
    """10,000 devices enrolled through the agent API; reused by later runs if still valid."""
    OUT.mkdir(exist_ok=True)
    tokens = OUT / "checkin_tokens.txt"
    if tokens.exists() and len(tokens.read_text().split()) == DEVICES:
        from devices.models import Device
        from portal.db_scope import system_scope

        with system_scope():
            if Device.objects.filter(tenant__slug=TENANT, retired_at=None).count() == DEVICES:
                return tokens
    ensure_tenant(TENANT)
    env.manage(
        "simulate_fleet",
        "--tenant",
        TENANT,
        "--devices",
        str(DEVICES),
        "--server",
        base_url,
        "--inventory",
        "none",
        "--tokens-out",
        str(tokens),
        "--concurrency",
        "16",
        "--quiet",
    )
    return tokens


def ensure_tenant(slug: str):
    from portal.db_scope import system_scope
    from tenants.models import Tenant

    with system_scope():
        return Tenant.objects.get_or_create(slug=slug, defaults={"name": slug.replace("-", " ").title()})[0]


def _forget_last_seen() -> None:
    from devices.models import Device
    from portal.db_scope import system_scope
    from portal.redis import client

    client().flushdb()  # the bench's own Redis database: no stale presence or cached tokens
    with system_scope():
        Device.objects.filter(tenant__slug=TENANT).update(last_seen_at=None)


def run() -> None:
    with server.web_server(stop_signal=signal.SIGKILL) as base_url:
        started = time.monotonic()
        tokens = _enrolled_tokens(base_url)
        _forget_last_seen()
        enrolled_in = time.monotonic() - started
        lua_env = {
            **os.environ,
            "BENCH_TOKENS": str(tokens),
            "BENCH_CONNECTIONS": str(CONNECTIONS),
            "BENCH_THREADS": "2",
        }
        # Warm up long enough for every device to check in once (its token is then cached).
        wrk.run(base_url, connections=CONNECTIONS, seconds=20, script=LUA, env=lua_env)
        checkin = wrk.run(base_url, connections=CONNECTIONS, seconds=SECONDS, script=LUA, env=lua_env)
        constant = wrk.run(base_url + "/api/agent/v1/bench/constant", connections=CONNECTIONS, seconds=SECONDS)
        paced_runs = [
            wrk.run(
                base_url,
                connections=CONNECTIONS,
                seconds=SECONDS,
                script=LUA,
                env={**lua_env, "BENCH_RATE": str(PACED_RATE)},
            )
            for _ in range(PACED_REPEATS)
        ]
        paced = sorted(paced_runs, key=lambda r: r.latency_ms["99"])[PACED_REPEATS // 2]
        buffered = _buffered_devices()
    # The web server is gone (SIGKILL): what it buffered must still reach the database.
    flush_seconds, flushed = _flush_after_kill()
    share = checkin.requests_per_second / constant.requests_per_second * 100
    errors = checkin.errors + constant.errors + sum(r.errors for r in paced_runs)
    rows = [
        (
            "check-ins/s, 200 connections, as fast as they go",
            f"{checkin.requests_per_second:.0f}",
            "≥ 500",
            results.met(checkin.requests_per_second, 500, True),
        ),
        ("constant view/s, same server and load", f"{constant.requests_per_second:.0f}", "", ""),
        ("check-in throughput as share of the constant view", f"{share:.0f}%", "≥ 30%", results.met(share, 30, True)),
        (
            f"check-ins/s offered at {PACED_RATE}/s over 200 connections",
            f"{paced.requests_per_second:.0f}",
            "≥ 500",
            results.met(paced.requests_per_second, 500, True),
        ),
        (
            "p99 latency at that rate (median of three runs)",
            f"{paced.latency_ms['99']:.1f} ms",
            "≤ 100 ms",
            results.met(paced.latency_ms["99"], 100, False),
        ),
        ("p99 of each of the three runs", ", ".join(f"{r.latency_ms['99']:.0f} ms" for r in paced_runs), "", ""),
        ("p50 latency at that rate", f"{paced.latency_ms['50']:.1f} ms", "", ""),
        ("p99 latency, as fast as they go (200 in flight)", f"{checkin.latency_ms['99']:.0f} ms", "", ""),
        ("errors (non-2xx or socket) in all runs", str(errors), "0", results.met(-errors, 0, True)),
        (
            "devices with a buffered check-in when the web server was killed",
            str(buffered),
            f"{DEVICES}",
            results.met(buffered, DEVICES, True),
        ),
        (
            "of those, devices whose last seen reached PostgreSQL afterwards",
            str(flushed),
            str(buffered),
            results.met(flushed, buffered, True),
        ),
        ("presence flush of those devices", f"{flush_seconds:.2f} s", "≤ 60 s", results.met(flush_seconds, 60, False)),
    ]
    notes = f"""
Commands (from `python -m bench checkin`): enrollment `manage.py simulate_fleet --tenant {TENANT}
--devices {DEVICES} --inventory none` over HTTP ({enrolled_in:.0f} s including reuse checks);
check-ins `{checkin.command}`; constant `{constant.command}`; paced
`BENCH_RATE={PACED_RATE} {paced.command}`. Server: `gunicorn portal.wsgi --config portal/gunicorn.conf.py`
(gthread, {os.cpu_count() + 1} processes x 32 threads), wrk on the same 2-core machine.

With wrk's closed loop, 200 connections keep 200 requests in flight all the time, so latency is
queueing time (Little's law: 200 / throughput); the p99 target is therefore measured at a steady
offered rate above the 500/s target. Last seen is buffered in Redis by each check-in and written
to PostgreSQL by the `flush_presence` beat task every 15 s; the figure above kills the web server
with SIGKILL after the load and then runs the flush, as the worker would.
"""
    results.write_section("checkin", "Agent check-ins (issue: devices, inventory and the endpoint agent)", rows, notes)


def _buffered_devices() -> int:
    from devices import presence
    from portal.redis import client

    return client().hlen(presence.PENDING)


def _flush_after_kill() -> tuple[float, int]:
    """Run after the web server is gone: the buffered check-ins must all reach the database."""
    from devices import presence
    from devices.models import Device
    from portal.db_scope import system_scope

    started = time.monotonic()
    presence.flush()
    elapsed = time.monotonic() - started
    with system_scope():
        flushed = Device.objects.filter(tenant__slug=TENANT, last_seen_at__isnull=False).count()
    return elapsed, flushed
