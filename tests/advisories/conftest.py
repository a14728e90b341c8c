"""Fixtures for the version comparison tests: the native tools and the conformance vectors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from .native_tools import Dpkg, Rpm, require_dpkg, require_rpm

CONFORMANCE = Path(__file__).resolve().parent.parent / "fixtures" / "conformance"


def read_vectors(name: str) -> list[dict[str, str]]:
    """Rows of a conformance CSV (the files keep their upstream CRLF line endings)."""
    with (CONFORMANCE / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def native_dpkg() -> Dpkg:
    """The machine's dpkg; the test fails, never skips, without it."""
    return require_dpkg()


@pytest.fixture(scope="session")
def native_rpm():
    """rpm's Python binding for the system interpreter; the test fails, never skips, without it."""
    oracle: Rpm = require_rpm()
    yield oracle
    oracle.close()
