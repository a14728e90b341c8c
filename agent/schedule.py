"""When to check in next: the server's interval with jitter, and back-off after failures."""

from __future__ import annotations

import random

BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0


def jittered(interval: float, jitter: float, rng: random.Random = random) -> float:
    """``interval`` moved by up to ±``jitter`` (a fraction), so a fleet does not check in in step."""
    return interval * (1.0 + rng.uniform(-jitter, jitter))


def backoff_delay(
    failures: int,
    jitter: float,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
    rng: random.Random = random,
) -> float:
    """Delay after the ``failures``-th failure in a row: base, 2 x base, 4 x base … up to ``cap``.

    Jitter is applied below the cap only, so the delay never exceeds it.
    """
    if failures < 1:
        raise ValueError("failures starts at 1")
    raw = min(cap, base * 2.0 ** (failures - 1))
    return min(cap, jittered(raw, jitter, rng))


class Backoff:
    def __init__(self, jitter: float, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS):
        self.jitter = jitter
        self.base = base
        self.cap = cap
        self.failures = 0

    def next_delay(self, retry_after: float | None = None, rng: random.Random = random) -> float:
        self.failures += 1
        delay = backoff_delay(self.failures, self.jitter, self.base, self.cap, rng)
        if retry_after is not None:
            # The server's Retry-After is a floor, never a reason to wait more than the cap.
            delay = min(self.cap, max(delay, retry_after))
        return delay

    def reset(self) -> None:
        self.failures = 0
