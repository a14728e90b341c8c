"""Jitter bounds and exponential back-off."""

from __future__ import annotations

import random

import pytest

from agent.schedule import BACKOFF_CAP_SECONDS, Backoff, backoff_delay, jittered


class Extreme:
    """A random source that always returns one end of the range it is asked for."""

    def __init__(self, end: str):
        self.end = end

    def uniform(self, low: float, high: float) -> float:
        return low if self.end == "low" else high


def test_jitter_stays_within_ten_percent():
    rng = random.Random(1234)
    delays = [jittered(300, 0.10, rng) for _ in range(10_000)]
    assert min(delays) >= 270.0
    assert max(delays) <= 330.0
    # It really spreads: both halves of the window are used.
    assert min(delays) < 280.0 and max(delays) > 320.0


def test_jitter_extremes_are_exact():
    assert jittered(300, 0.10, Extreme("low")) == pytest.approx(270.0)
    assert jittered(300, 0.10, Extreme("high")) == pytest.approx(330.0)
    assert jittered(300, 0.0, random.Random(1)) == 300.0


def test_backoff_doubles_from_thirty_seconds_to_the_cap():
    delays = [backoff_delay(failures, 0.0) for failures in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_backoff_jitter_never_exceeds_the_cap():
    rng = random.Random(99)
    for failures in range(1, 20):
        delay = backoff_delay(failures, 0.5, rng=rng)
        assert 0 < delay <= BACKOFF_CAP_SECONDS
    assert backoff_delay(1, 0.1, rng=Extreme("high")) == pytest.approx(33.0)
    assert backoff_delay(12, 0.1, rng=Extreme("high")) == BACKOFF_CAP_SECONDS


def test_backoff_failures_start_at_one():
    with pytest.raises(ValueError):
        backoff_delay(0, 0.1)


def test_backoff_object_counts_resets_and_honours_retry_after():
    backoff = Backoff(jitter=0.0)
    assert [backoff.next_delay() for _ in range(3)] == [30, 60, 120]
    backoff.reset()
    assert backoff.next_delay() == 30
    # Retry-After raises the delay but is itself capped.
    assert backoff.next_delay(retry_after=500) == 500
    assert backoff.next_delay(retry_after=10) == 120
    assert backoff.next_delay(retry_after=99_999) == BACKOFF_CAP_SECONDS
