"""One Redis connection pool per process, for hot paths that need more than the cache API."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)


def client() -> redis.Redis:
    return _client_for(settings.REDIS_URL)
