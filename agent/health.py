"""Health checks the agent reports to POST /health: itself, named services, a signed script."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import __version__, sysinfo
from .backends import Backend
from .logs import get_logger
from .scripts import ScriptRefused, run_signed_script

SCRIPT_TIMEOUT = 300.0
DETAIL_LIMIT = 2000

log = get_logger("health")


def run_checks(
    backend: Backend,
    services: Sequence[str] = (),
    script: object = None,
    jwk: Mapping[str, Any] | None = None,
    dry_run: bool = False,
) -> list[dict[str, object]]:
    """``[{"name", "ok", "detail"}]``: the agent's heartbeat, each service, the check script."""
    checks: list[dict[str, object]] = [
        {"name": "agent", "ok": True, "detail": f"agent {__version__}, up {sysinfo.uptime_seconds()} s"}
    ]
    for name in dict.fromkeys(services):  # each once, in order
        ok, detail = backend.service_active(name)
        checks.append({"name": f"service:{name}", "ok": bool(ok), "detail": str(detail)[:DETAIL_LIMIT]})
    checks.extend(backend.health_checks())
    if script:
        checks.append(_script_check(script, jwk, dry_run))
    return checks


def _script_check(envelope: object, jwk: Mapping[str, Any] | None, dry_run: bool) -> dict[str, object]:
    try:
        result = run_signed_script(envelope, jwk, dry_run=dry_run, timeout=SCRIPT_TIMEOUT)
    except ScriptRefused as exc:
        return {"name": "script", "ok": False, "detail": f"refused: {exc}"[:DETAIL_LIMIT]}
    name = f"script:{result.name}"
    if result.dry_run:
        return {"name": name, "ok": True, "detail": "dry run: not run"}
    return {"name": name, "ok": result.exit_code == 0, "detail": result.output[-DETAIL_LIMIT:]}


def health_body(checks: Sequence[Mapping[str, object]], job_id: int | None = None) -> dict[str, object]:
    return {"job": job_id, "checks": list(checks)}


def report(client, checks: Sequence[Mapping[str, object]], job_id: int | None = None) -> dict[str, Any]:
    answer = client.post("health", health_body(checks, job_id))
    healthy = answer.get("healthy")
    (log.info if healthy else log.warning)("health reported: %s", "healthy" if healthy else "UNHEALTHY")
    return answer
