"""Helpers for the feed adapter tests: fixture paths, the writes a run makes, the signal it sends."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from advisories.signals import feed_ingested

ADVISORY_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "advisories"
CONSTRUCTED = ADVISORY_FIXTURES / "constructed"

_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"(?P<table>[a-z_]+)"', re.IGNORECASE)


@contextmanager
def writes_to(*tables: str):
    """Collect the INSERT/UPDATE/DELETE statements run against `tables` inside the block."""
    found: list[str] = []
    with CaptureQueriesContext(connection) as queries:
        yield found
    for query in queries.captured_queries:
        match = _WRITE.match(query["sql"])
        if match and match["table"] in tables:
            found.append(query["sql"][:200])


@pytest.fixture
def ingested_signals():
    """The keyword arguments of every feed_ingested signal sent during the test."""
    sent: list[dict] = []

    def receiver(sender, **kwargs):
        sent.append(kwargs)

    feed_ingested.connect(receiver, dispatch_uid="tests.advisories.feeds.signals")
    yield sent
    feed_ingested.disconnect(dispatch_uid="tests.advisories.feeds.signals")
