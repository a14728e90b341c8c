"""/healthz: is the database, Redis and at least one Celery worker reachable?"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

log = logging.getLogger(__name__)


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_redis() -> str:
    redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
    return "ok"


def _check_celery() -> str:
    from portal.celery import app

    replies = app.control.ping(timeout=0.5)
    return f"ok ({len(replies)} worker{'s' if len(replies) != 1 else ''})" if replies else "no workers"


CHECKS = {"database": _check_database, "redis": _check_redis, "celery": _check_celery}
# Without these the web process cannot serve; a missing worker degrades but does not fail it.
CRITICAL = {"database", "redis"}


@never_cache
def healthz(request):
    started = time.monotonic()
    results, healthy = {}, True
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # noqa: BLE001 - a health check reports every failure
            log.warning("health check %s failed: %s", name, exc)
            results[name] = f"error: {exc.__class__.__name__}"
            healthy = healthy and name not in CRITICAL
    degraded = not results.get("celery", "").startswith("ok")
    status = "ok" if healthy and not degraded else ("degraded" if healthy else "failing")
    body = {"status": status, "checks": results, "duration_ms": round((time.monotonic() - started) * 1000, 1)}
    return JsonResponse(body, status=200 if healthy else 503)
